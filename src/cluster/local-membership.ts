// This node's own membership record: the view it holds, what it was told (a removal), whether it
// started on an empty data directory, and what it is doing to its membership now (joining,
// leaving). Every change of the view goes through setView: it is persisted, announced to the
// other parts and handed to the link layer as the set of peers to keep links to.
import { randomUUID } from 'node:crypto';
import type { HlcClock } from '../base/hlc.js';
import type { Dist } from '../link/types.js';
import { isMember, maxVersion, memberNames, parseView, type View } from './membership.js';

export const MEMBERSHIP_STATE = 'membership';

export interface StateStore {
  readState(name: string): unknown;
  writeState(name: string, doc: unknown): Promise<void> | void;
}

export interface RemovedNotice {
  /** The member that put this node out (ran force-leave, or autoclean): its tombstone's issuer. */
  readonly by: string;
  /** The member that told this node, when another one. */
  readonly via?: string;
  readonly at: number;
  readonly clusterId: string;
}

interface Persisted {
  readonly view: View;
  readonly removed?: RemovedNotice;
  readonly fresh?: boolean;
}

export class LocalMembership {
  private current!: View;
  /** Set when this node learned it was put out of its cluster; it stays out until an operator acts. */
  removedNotice: RemovedNotice | undefined;
  /**
   * Started on an empty data directory and no join/leave since. If a cluster still lists this
   * node as a member (its data directory was lost or moved aside), the node rejoins it.
   */
  fresh = false;
  /** The node a join runs to, until this node is a member of its cluster. */
  joining: string | undefined;
  /** Set while this node announces its own leave: its own tombstone echoing back is expected. */
  leaving = false;

  constructor(
    readonly self: string,
    private readonly dist: Dist,
    private readonly store: StateStore,
    private readonly clock: HlcClock,
    /** Called when the member list changes (any cause). */
    private readonly membersChanged: (members: string[]) => void,
  ) {}

  /** Reads the persisted record; without one, the node starts alone (and fresh). */
  async restore(): Promise<void> {
    const doc = (await this.store.readState(MEMBERSHIP_STATE)) as Persisted | undefined | null;
    if (!doc) {
      this.current = this.aloneView();
      this.fresh = true;
      await this.persist();
      return;
    }
    this.current = parseView(doc.view, `membership state of ${this.self}`);
    this.removedNotice = doc.removed;
    this.fresh = doc.fresh === true;
    const mv = maxVersion(this.current.members);
    if (mv) this.clock.observe(mv);
    if (!isMember(this.current.members, this.self)) this.current = this.aloneView();
  }

  get view(): View {
    return this.current;
  }

  members(): string[] {
    return memberNames(this.current.members);
  }

  /** Members other than this node. */
  peers(): string[] {
    return this.members().filter((n) => n !== this.self);
  }

  isMember(node: string): boolean {
    return isMember(this.current.members, node);
  }

  /** This node alone, under a new cluster id. */
  aloneView(): View {
    return { clusterId: randomUUID(), members: { [this.self]: { state: 'member', version: this.clock.now() } } };
  }

  async setView(v: View): Promise<void> {
    const before = this.members().join(',');
    this.current = v;
    if (this.members().join(',') !== before) this.membersChanged(this.members());
    // While joining, the link to the target must survive our switch to a fresh view.
    const peers = this.peers();
    this.dist.setPeers(this.joining && !peers.includes(this.joining) ? [...peers, this.joining] : peers);
    await this.persist();
  }

  async persist(): Promise<void> {
    const doc: Persisted = { view: this.current, ...(this.removedNotice ? { removed: this.removedNotice } : {}), ...(this.fresh ? { fresh: true } : {}) };
    await this.store.writeState(MEMBERSHIP_STATE, doc);
  }
}
