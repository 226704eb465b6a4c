// The membership view: a last-writer-wins map node → {member | removed, version}. Merging takes,
// per node, the entry with the greater hybrid-logical-clock version, which is commutative,
// associative and idempotent, so members that exchange views in any order end up identical.
// Removed nodes stay as tombstones so an old "member" entry cannot resurrect them. A tombstone
// says whether the node was put out by another member (force-leave, autoclean: `forced`, the node
// must be kept out if it comes back with its old view) or went away itself (leave, join elsewhere:
// it already knows, and nobody may tell it "you were removed"). Only the latter are ever collected,
// once every member holds them (collectableTombstones).
import { compareHlc, type Hlc } from '../base/hlc.js';

export type MemberState = 'member' | 'removed';

export interface MemberEntry {
  readonly state: MemberState;
  readonly version: Hlc;
  /** Only on `removed`: another member put the node out (force-leave, autoclean). */
  readonly forced?: boolean;
}

export type Members = Readonly<Record<string, MemberEntry>>;

export interface View {
  /** Identifies one cluster; views of different clusters are never merged. */
  readonly clusterId: string;
  readonly members: Members;
}

/**
 * Picks the winner of two entries for the same node: the greater version; on equal versions
 * removal, then a forced removal, wins (a total order, so the merge stays commutative).
 */
export function pickEntry(a: MemberEntry, b: MemberEntry): MemberEntry {
  const c = compareHlc(a.version, b.version);
  if (c !== 0) return c > 0 ? a : b;
  return rank(a) >= rank(b) ? a : b;
}

function rank(e: MemberEntry): number {
  return e.state === 'member' ? 0 : e.forced ? 2 : 1;
}

/** A tombstone saying another member put `node` out (force-leave, autoclean). */
export function forcedOut(members: Members, node: string): MemberEntry | undefined {
  const e = members[node];
  return e?.state === 'removed' && e.forced ? e : undefined;
}

export function mergeMembers(a: Members, b: Members): Members {
  const out: Record<string, MemberEntry> = { ...a };
  for (const [node, eb] of Object.entries(b)) {
    const ea = out[node];
    out[node] = ea ? pickEntry(ea, eb) : eb;
  }
  return sortKeys(out);
}

export function membersEqual(a: Members, b: Members): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const ea = a[k];
    const eb = b[k];
    if (!ea || !eb || rank(ea) !== rank(eb) || compareHlc(ea.version, eb.version) !== 0) return false;
  }
  return true;
}

/** Names of the current members (not tombstones), sorted. */
export function memberNames(members: Members): string[] {
  return Object.keys(members)
    .filter((n) => members[n]!.state === 'member')
    .sort();
}

export function isMember(members: Members, node: string): boolean {
  return members[node]?.state === 'member';
}

/** The greatest version in a view: the clock must move past it before issuing new entries. */
export function maxVersion(members: Members): Hlc | undefined {
  let best: Hlc | undefined;
  for (const e of Object.values(members)) if (!best || compareHlc(e.version, best) > 0) best = e.version;
  return best;
}

/**
 * Tombstones that may be dropped: those of nodes that went by themselves (never forced ones: they
 * keep a removed node out), older than `retentionMs`, held (or superseded) in the last view heard
 * from every other current member (or absent there). Then no member can bring back an older entry;
 * a node that left has another cluster id, and a forced-out node is refused before any merge.
 * `waitingOn`: the members not yet heard holding one of the otherwise collectable tombstones.
 */
export function collectableTombstones(
  members: Members,
  self: string,
  heardFrom: (member: string) => Members | undefined,
  now: number,
  retentionMs: number,
): { collect: string[]; waitingOn: string[] } {
  const others = memberNames(members).filter((n) => n !== self);
  const collect: string[] = [];
  const waitingOn = new Set<string>();
  for (const [node, e] of Object.entries(members)) {
    if (e.state !== 'removed' || e.forced || now - e.version.t < retentionMs) continue;
    // A member that holds no entry at all for the node (it collected the tombstone already, or
    // joined after the node was gone) cannot bring an old one back either.
    const missing = others.filter((m) => {
      const view = heardFrom(m);
      const theirs = view?.[node];
      return view === undefined || (theirs !== undefined && compareHlc(theirs.version, e.version) < 0);
    });
    if (missing.length === 0) collect.push(node);
    for (const m of missing) waitingOn.add(m);
  }
  return { collect, waitingOn: [...waitingOn].sort() };
}

/** The view without `nodes` (garbage-collected tombstones). */
export function withoutEntries(members: Members, nodes: readonly string[]): Members {
  const drop = new Set(nodes);
  return Object.fromEntries(Object.entries(members).filter(([n]) => !drop.has(n)));
}

export function withEntry(members: Members, node: string, entry: MemberEntry): Members {
  return mergeMembers(members, { [node]: entry });
}

/** Validates a view received from a peer or read from disk; throws naming the bad part. */
export function parseView(doc: unknown, where: string): View {
  if (typeof doc !== 'object' || doc === null) throw new Error(`${where}: membership view is not an object`);
  const d = doc as Record<string, unknown>;
  if (typeof d.clusterId !== 'string' || d.clusterId === '') throw new Error(`${where}: membership view has no clusterId`);
  return { clusterId: d.clusterId, members: parseMembers(d.members, where) };
}

/** Validates a members map (node → entry); throws naming the bad part. */
export function parseMembers(doc: unknown, where: string): Members {
  if (typeof doc !== 'object' || doc === null) throw new Error(`${where}: membership view has no members`);
  const members: Record<string, MemberEntry> = {};
  for (const [node, e] of Object.entries(doc as Record<string, unknown>)) {
    const entry = e as Record<string, unknown> | null;
    const v = entry?.version as Record<string, unknown> | undefined;
    if (
      !entry ||
      (entry.state !== 'member' && entry.state !== 'removed') ||
      !v ||
      typeof v.t !== 'number' ||
      typeof v.c !== 'number' ||
      typeof v.n !== 'string' ||
      (entry.forced !== undefined && typeof entry.forced !== 'boolean')
    ) {
      throw new Error(`${where}: bad membership entry for '${node}'`);
    }
    const forced = entry.state === 'removed' && entry.forced === true;
    members[node] = { state: entry.state, version: { t: v.t, c: v.c, n: v.n }, ...(forced ? { forced: true } : {}) };
  }
  return sortKeys(members);
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}
