// Which member of a shared-subscription group gets a message: EMQX's
// `mqtt.shared_subscription_strategy` values, with the per-group state they need. Pure: the
// caller passes the members (in a stable order), the publisher and topic, and, for the cluster,
// which members are on this node; randomness is injectable for tests.

export const SHARED_STRATEGIES = [
  'random',
  'round_robin',
  'round_robin_per_group',
  'sticky',
  'local',
  'hash_clientid',
  'hash_topic',
] as const;

export type SharedStrategy = (typeof SHARED_STRATEGIES)[number];

export function isSharedStrategy(s: string): s is SharedStrategy {
  return (SHARED_STRATEGIES as readonly string[]).includes(s);
}

export interface PickContext {
  /** The publisher's client id (hash_clientid). */
  readonly publisher: string;
  /** The topic the message was published to (hash_topic). */
  readonly topic: string;
}

/** 32-bit FNV-1a over the string's UTF-16 code units: stable across runs and nodes, and cheap. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface GroupState {
  /** Index of the next round-robin member, always below the member count it was computed for. */
  next: number;
  /** The sticky member, while it stays a member. */
  sticky: string | undefined;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Per-group state for the strategies that have some (round robin, sticky), keyed by the caller's
 * `group + '/' + filter` (a group is per filter: `$share/g/a` and `$share/g/b` are two groups). Call forget(key) when a group empties so the state does not outlive it.
 *
 * `round_robin` and `round_robin_per_group` are the same here: one counter per group. EMQX counts
 * `round_robin` per publisher (in the publisher's process, from a random start), so many
 * publishers that each send a few messages land unevenly and the group is not served in turn
 * (emqx#8454); a counter per group is fair across publishers, which is what users expect of round
 * robin. `round_robin_per_group` is EMQX's own fix for that, hence the same behaviour. Likewise
 * `sticky` sticks per group rather than per publisher.
 */
export class SharedPicker {
  private readonly groups = new Map<string, GroupState>();

  constructor(private readonly random: () => number = Math.random) {}

  /** A member for one message, or undefined when there are no members. */
  pick(
    strategy: SharedStrategy,
    key: string,
    members: readonly string[],
    ctx: PickContext,
    isLocal?: (member: string) => boolean,
  ): string | undefined {
    return this.choose(strategy, key, members, ctx, NONE, isLocal);
  }

  /**
   * As pick, never choosing a member in `exclude`: to re-dispatch a message away from a member
   * that went away or refused it. undefined when every member is excluded (EMQX then picks one of
   * them anyway; here the caller decides).
   */
  pickExcept(
    strategy: SharedStrategy,
    key: string,
    members: readonly string[],
    ctx: PickContext,
    exclude: ReadonlySet<string>,
    isLocal?: (member: string) => boolean,
  ): string | undefined {
    return this.choose(strategy, key, members, ctx, exclude, isLocal);
  }

  /** Drops a group's state (its group emptied, or its strategy changed). */
  forget(key: string): void {
    this.groups.delete(key);
  }

  /** Number of groups holding state. */
  get stateCount(): number {
    return this.groups.size;
  }

  clear(): void {
    this.groups.clear();
  }

  private choose(
    strategy: SharedStrategy,
    key: string,
    members: readonly string[],
    ctx: PickContext,
    exclude: ReadonlySet<string>,
    isLocal: ((member: string) => boolean) | undefined,
  ): string | undefined {
    const n = members.length;
    if (n === 0) return undefined;
    switch (strategy) {
      case 'random':
        return this.randomOf(members, exclude);
      case 'round_robin':
      case 'round_robin_per_group': {
        const st = this.state(key, n);
        const start = st.next < n ? st.next : st.next % n;
        const i = firstAllowed(members, start, exclude);
        if (i < 0) return undefined;
        st.next = i + 1 === n ? 0 : i + 1;
        return members[i];
      }
      case 'sticky': {
        const st = this.state(key, n);
        if (st.sticky !== undefined && !exclude.has(st.sticky) && members.includes(st.sticky)) return st.sticky;
        // As in EMQX, a member that failed a message loses the stickiness too: the new pick keeps it.
        const m = this.randomOf(members, exclude);
        if (m !== undefined) st.sticky = m;
        return m;
      }
      case 'local':
        return isLocal === undefined ? this.randomOf(members, exclude) : this.randomLocal(members, exclude, isLocal);
      case 'hash_clientid':
      case 'hash_topic': {
        const i = firstAllowed(members, fnv1a(strategy === 'hash_clientid' ? ctx.publisher : ctx.topic) % n, exclude);
        return i < 0 ? undefined : members[i];
      }
    }
  }

  /**
   * A new group's rotation starts at a random member, so that many groups made at once (one per
   * topic, say) and sent one message each do not all begin on the same member.
   */
  private state(key: string, n: number): GroupState {
    let st = this.groups.get(key);
    if (st === undefined) this.groups.set(key, (st = { next: Math.floor(this.random() * n), sticky: undefined }));
    return st;
  }

  /** Uniform among the members not excluded, without building a filtered list. */
  private randomOf(members: readonly string[], exclude: ReadonlySet<string>): string | undefined {
    const n = members.length;
    if (exclude.size === 0) return members[Math.floor(this.random() * n)];
    let allowed = 0;
    for (const m of members) if (!exclude.has(m)) allowed++;
    if (allowed === 0) return undefined;
    let k = Math.floor(this.random() * allowed);
    for (const m of members) if (!exclude.has(m) && k-- === 0) return m;
    return undefined;
  }

  /** Uniform among the allowed local members, else among all allowed members. */
  private randomLocal(members: readonly string[], exclude: ReadonlySet<string>, isLocal: (member: string) => boolean): string | undefined {
    let local = 0;
    for (const m of members) if (!exclude.has(m) && isLocal(m)) local++;
    if (local === 0) return this.randomOf(members, exclude);
    let k = Math.floor(this.random() * local);
    for (const m of members) if (!exclude.has(m) && isLocal(m) && k-- === 0) return m;
    return undefined;
  }
}

/** The first index from `start` on (wrapping) whose member is not excluded, or -1. */
function firstAllowed(members: readonly string[], start: number, exclude: ReadonlySet<string>): number {
  if (exclude.size === 0) return start;
  const n = members.length;
  for (let j = 0; j < n; j++) {
    const i = start + j < n ? start + j : start + j - n;
    if (!exclude.has(members[i]!)) return i;
  }
  return -1;
}
