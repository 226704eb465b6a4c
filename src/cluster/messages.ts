// What members say to each other on the cluster channels, and the check each message passes
// before it is used: a payload from another node is `unknown` until one of these has read it.
// Pure.
import { parseMembers, parseView, type MemberEntry, type Members, type View } from './membership.js';

export const CLUSTER_CHANNELS = {
  hello: 'cluster.hello',
  view: 'cluster.view',
  joinBegin: 'cluster.join_begin',
  joinCommit: 'cluster.join_commit',
  joinAbort: 'cluster.join_abort',
  leaveRequest: 'cluster.leave_request',
  removed: 'cluster.removed',
} as const;

const VERDICTS = ['ok', 'removed', 'foreign', 'partitioned'] as const;
/**
 * What a node concluded about the peer that greeted it: `removed` (a tombstone here, it must stay
 * out), `foreign` (another cluster), `partitioned` (back from a partition with autoheal off).
 */
export type Verdict = (typeof VERDICTS)[number];

/** Sent on every link up, both ways: the sender's view and who it is this run. */
export interface Hello extends View {
  readonly bootId: string;
  readonly verdict?: Verdict;
  /** The sender started on an empty data directory and has not joined or left since. */
  readonly fresh?: boolean;
}

function record(doc: unknown, what: string, where: string): Record<string, unknown> {
  if (typeof doc !== 'object' || doc === null) throw new Error(`${where}: ${what} is not an object`);
  return doc as Record<string, unknown>;
}

export function parseHello(doc: unknown, where: string): Hello {
  const view = parseView(doc, where);
  const d = record(doc, 'hello', where);
  if (typeof d.bootId !== 'string') throw new Error(`${where}: hello has no bootId`);
  // A verdict this version does not know (a newer peer) is read as none.
  const verdict = VERDICTS.find((v) => v === d.verdict);
  return { ...view, bootId: d.bootId, ...(verdict ? { verdict } : {}), ...(d.fresh === true ? { fresh: true } : {}) };
}

export interface JoinBeginReply {
  readonly ok: boolean;
  /** Why not: `singleton`, `join_in_progress`, or free text. */
  readonly reason?: string;
}

export function parseJoinBeginReply(doc: unknown, where: string): JoinBeginReply {
  const d = record(doc, 'join reply', where);
  if (typeof d.ok !== 'boolean') throw new Error(`${where}: join reply has no ok`);
  return { ok: d.ok, ...(typeof d.reason === 'string' ? { reason: d.reason } : {}) };
}

/** `{ ok }` replies (a leave request); anything else reads as not ok. */
export function parseOk(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && (doc as Record<string, unknown>).ok === true;
}

/** A join's commit: the joiner's members, read only to move our clock past them. */
export function parseJoinCommit(doc: unknown, where: string): Members {
  const d = record(doc, 'join commit', where);
  return d.members === undefined ? {} : parseMembers(d.members, where);
}

export interface RemovalNotice {
  readonly clusterId: string;
  /** The tombstone of the receiving node, as the sender holds it. */
  readonly entry: MemberEntry;
}

/** A member's "you were removed"; undefined when it does not say which cluster or entry. */
export function parseRemovalNotice(doc: unknown, self: string, where: string): RemovalNotice | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d.clusterId !== 'string' || d.entry === undefined) return undefined;
  const entry = parseMembers({ [self]: d.entry }, where)[self]!;
  return { clusterId: d.clusterId, entry };
}
