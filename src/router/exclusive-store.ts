// `$exclusive/` locks for the whole cluster (EMQX keeps them in a table its core nodes lock in a
// transaction). Here one member decides every claim, the first running member by name, so two
// clients claiming one filter on two nodes at once are answered in turn; the decision is a row of
// the replicated table `exclusive` (filter → client id), written to every running member before
// the claim is answered, so the member that decides next knows it. A row whose client has no
// session left anywhere in the cluster holds nothing (its node died, or the release was lost).
// During a split each side decides for itself, as EMQX's sides do.
import type { Db } from '../db/db.js';
import type { ExclusiveLocks } from '../broker/exclusive.js';
import type { Log } from '../base/log.js';
import type { Dist } from '../link/types.js';

export const EXCLUSIVE_TABLE = 'exclusive';
const CHANNEL = 'router.exclusive';

export interface ClusterExclusiveOptions {
  readonly self: string;
  readonly dist: Dist;
  readonly db: Db;
  readonly log: Log;
  /** The running members, this node among them. */
  running(): readonly string[];
  /** Whether `clientId` has a session on some running member. */
  alive(clientId: string): boolean;
  readonly timeoutMs: number;
}

function holderOf(v: unknown): string | undefined {
  const c = (v as { clientId?: unknown } | undefined)?.clientId;
  return typeof c === 'string' ? c : undefined;
}

export class ClusterExclusive implements ExclusiveLocks {
  /** The claims being decided here, per filter, in the order they came. */
  readonly #turns = new Map<string, Promise<unknown>>();

  constructor(private readonly o: ClusterExclusiveOptions) {}

  /** Decides the claims other members send (once, when the router starts). */
  serve(): void {
    this.o.dist.handle(CHANNEL, (_from, p) => {
      const { filter, clientId, release } = (p ?? {}) as { filter?: unknown; clientId?: unknown; release?: unknown };
      if (typeof filter !== 'string' || typeof clientId !== 'string') throw new Error('router.exclusive: malformed claim');
      return release === true ? this.#release(filter, clientId) : this.#decide(filter, clientId);
    });
  }

  /** The member that decides claims now. */
  arbiter(): string {
    return [...new Set([this.o.self, ...this.o.running()])].sort()[0]!;
  }

  async claim(filter: string, clientId: string): Promise<boolean> {
    const arbiter = this.arbiter();
    if (arbiter === this.o.self) return this.#decide(filter, clientId);
    try {
      return (await this.o.dist.call(arbiter, CHANNEL, { filter, clientId }, this.o.timeoutMs)) === true;
    } catch (err) {
      this.o.log.warn({ filter, clientid: clientId, arbiter, err: String(err) }, 'exclusive subscription refused: the member that decides did not answer');
      return false;
    }
  }

  /**
   * Goes to the member that decides, in turn with the claims: a claim made after the holder's
   * UNSUBSCRIBE reached it finds the filter free.
   */
  release(filter: string, clientId: string): void {
    if (holderOf(this.o.db.get(EXCLUSIVE_TABLE, filter)) !== clientId) return;
    const arbiter = this.arbiter();
    const done =
      arbiter === this.o.self
        ? this.#release(filter, clientId)
        : this.o.dist.call(arbiter, CHANNEL, { filter, clientId, release: true }, this.o.timeoutMs).catch(() => this.#release(filter, clientId));
    done.catch((err: unknown) => this.o.log.warn({ filter, err: String(err) }, 'exclusive subscription release not written'));
  }

  /** Whether `filter` is held now, and by whom (API, tests). */
  holder(filter: string): string | undefined {
    return holderOf(this.o.db.get(EXCLUSIVE_TABLE, filter));
  }

  #decide(filter: string, clientId: string): Promise<boolean> {
    return this.#inTurn(filter, async () => {
      const holder = holderOf(this.o.db.get(EXCLUSIVE_TABLE, filter));
      if (holder !== undefined && holder !== clientId && this.o.alive(holder)) return false;
      if (holder !== clientId) await this.o.db.write(EXCLUSIVE_TABLE, filter, { clientId });
      return true;
    });
  }

  #release(filter: string, clientId: string): Promise<boolean> {
    return this.#inTurn(filter, async () => {
      if (holderOf(this.o.db.get(EXCLUSIVE_TABLE, filter)) !== clientId) return false;
      await this.o.db.write(EXCLUSIVE_TABLE, filter, undefined);
      return true;
    });
  }

  /** Runs `step` after the steps queued before it for `filter`. */
  #inTurn(filter: string, step: () => Promise<boolean>): Promise<boolean> {
    const before = this.#turns.get(filter) ?? Promise.resolve();
    const turn = before.then(step);
    const settled = turn.catch(() => false);
    this.#turns.set(filter, settled);
    void settled.then(() => {
      if (this.#turns.get(filter) === settled) this.#turns.delete(filter);
    });
    return turn;
  }
}
