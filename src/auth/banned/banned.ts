// Banned clients (EMQX's emqx_banned): by client id, user name or peer host (an address or a
// CIDR range), each until a time or for good, in a replicated table, so a ban made on one node
// refuses the client on every node. Checking a CONNECT costs at most three table lookups plus
// the CIDR entries, whatever the client sends.
import type { Db } from '../../db/db.js';
import { cidrContains, parseAddress, parseCidr, type Cidr } from '../authz/cidr.js';

export const BANNED_TABLE = 'banned';
/** Peer host bans of whole ranges (`10.0.0.0/8`), apart so a check scans only them. */
export const BANNED_RANGES_TABLE = 'banned_ranges';

export type BanKind = 'clientid' | 'username' | 'peerhost';
export const BAN_KINDS: readonly BanKind[] = ['clientid', 'username', 'peerhost'];

export interface Ban {
  readonly as: BanKind;
  readonly who: string;
  readonly by: string;
  readonly reason: string;
  /** Seconds since the epoch. */
  readonly at: number;
  /** Seconds since the epoch; undefined: never ends. */
  readonly until?: number;
}

export class BanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BanError';
  }
}

const keyOf = (as: BanKind, who: string): string => `${as}\u0000${who}`;
const tableOf = (as: BanKind, who: string): string => (as === 'peerhost' && who.includes('/') ? BANNED_RANGES_TABLE : BANNED_TABLE);

function isBan(v: unknown): v is Ban {
  const b = v as Partial<Ban> | undefined;
  return !!b && typeof b.as === 'string' && typeof b.who === 'string' && typeof b.at === 'number';
}

/** Whether a ban is in force at `nowS` (seconds). Pure. */
export function inForce(b: Ban, nowS: number): boolean {
  return b.until === undefined || b.until > nowS;
}

export class Banned {
  /** Peer host bans that are ranges, parsed once per table row. */
  readonly #ranges = new WeakMap<object, Cidr | undefined>();

  constructor(private readonly db: () => Db | undefined) {}

  list(nowS = Date.now() / 1000): Ban[] {
    const d = this.db();
    if (!d) return [];
    return [...d.list(BANNED_TABLE), ...d.list(BANNED_RANGES_TABLE)].map(([, v]) => v).filter(isBan).filter((b) => inForce(b, nowS));
  }

  get(as: BanKind, who: string): Ban | undefined {
    const v = this.db()?.get(tableOf(as, who), keyOf(as, who));
    return isBan(v) ? v : undefined;
  }

  async add(ban: Ban): Promise<void> {
    if (!BAN_KINDS.includes(ban.as)) throw new BanError(`as: '${ban.as}' is not one of ${BAN_KINDS.join(', ')}`);
    if (ban.who === '') throw new BanError('who: must not be empty');
    if (ban.as === 'peerhost' && typeof parseCidr(ban.who) === 'string') throw new BanError(`who: ${String(parseCidr(ban.who))}`);
    const d = this.db();
    if (!d) throw new BanError('the database is not open yet');
    await d.write(tableOf(ban.as, ban.who), keyOf(ban.as, ban.who), { ...ban });
  }

  async del(as: BanKind, who: string): Promise<boolean> {
    const d = this.db();
    if (!d || this.get(as, who) === undefined) return false;
    await d.write(tableOf(as, who), keyOf(as, who), undefined);
    return true;
  }

  async clear(): Promise<void> {
    const d = this.db();
    if (!d) return;
    await d.writeMany([BANNED_TABLE, BANNED_RANGES_TABLE].flatMap((table) => d.list(table).map(([key]) => ({ table, key, value: undefined }))));
  }

  /** Removes bans that have ended (called now and then; checks ignore them anyway). */
  async sweep(nowS = Date.now() / 1000): Promise<number> {
    const d = this.db();
    if (!d) return 0;
    const gone = [BANNED_TABLE, BANNED_RANGES_TABLE].flatMap((table) => d.list(table).filter(([, v]) => isBan(v) && !inForce(v, nowS)).map(([key]) => ({ table, key, value: undefined })));
    if (gone.length > 0) await d.writeMany(gone);
    return gone.length;
  }

  /** Whether a ban on this client id is in force (a delayed message's publisher, long gone). */
  clientIdBanned(clientid: string, nowS = Date.now() / 1000): boolean {
    const v = this.db()?.get(BANNED_TABLE, keyOf('clientid', clientid));
    return isBan(v) && inForce(v, nowS);
  }

  /** The ban in force on this client, if any. */
  check(c: { clientid: string; username: string | undefined; peerhost: string }, nowS = Date.now() / 1000): Ban | undefined {
    const d = this.db();
    if (!d) return undefined;
    for (const [as, who] of [['clientid', c.clientid], ['username', c.username], ['peerhost', c.peerhost]] as const) {
      if (who === undefined) continue;
      const v = d.get(BANNED_TABLE, keyOf(as, who));
      if (isBan(v) && inForce(v, nowS)) return v;
    }
    let addr: ReturnType<typeof parseAddress> | null = null;
    for (const [, v] of d.list(BANNED_RANGES_TABLE)) {
      if (!isBan(v) || !inForce(v, nowS)) continue;
      if (addr === null) addr = parseAddress(c.peerhost);
      let range = this.#ranges.get(v);
      if (!this.#ranges.has(v)) {
        const p = parseCidr(v.who);
        range = typeof p === 'string' ? undefined : p;
        this.#ranges.set(v, range);
      }
      if (range && cidrContains(range, addr)) return v;
    }
    return undefined;
  }
}
