// A node that stops gracefully in a cluster hands its persistent sessions to the members that
// stay (EMQX's open-source edition loses them with the node; its enterprise edition has "node
// evacuation" for this). After the listeners have closed every connection (DISCONNECT 0x8B), each
// session that outlives its connection moves to the member that will own its client id once
// this node is gone (the same pick a claim makes), so a client that reconnects anywhere is
// handed its session by the usual takeover, with what was queued for it while it was away.
//
// In two steps, so that nothing published meanwhile is lost:
// 1. `router.adopt`: the member takes the session's subscriptions and answers once every member
//    routes them to it. From then on what is published for the client reaches that member too.
// 2. `router.adopt_msgs`: this node's session leaves (as in a takeover) with what it queued and
//    has in flight, up to now; the member puts those before what it queued itself since step 1.
// A message published between the two steps reaches both nodes and can arrive twice (QoS 1 is
// at least once); none is lost. What does not move before the deadline ends with the node,
// as before.
import type { Log } from '../base/log.js';
import type { Broker } from '../broker/broker.js';
import type { EvacuatedSession, EvacuationStub } from '../broker/session.js';
import { fnv1a } from '../broker/shared-strategy.js';
import type { Dist } from '../link/types.js';

export const EVACUATION_CHANNELS = {
  /** Step 1: `{ stubs }` → per stub `taken`, `exists` (a session for that id is there already) or `leaving` (that node is stopping too). */
  adopt: 'router.adopt',
  /** Step 2: `{ moved: [clientId, EvacuatedSession | null][] }`. */
  messages: 'router.adopt_msgs',
} as const;

/** How long a session that just arrived from another stopping node may wait for its messages. */
const STUB_WAIT_MS = 3000;

/** Sessions moved per call: one call's worth of routes settles in one round of route changes. */
const BATCH = 256;
/** Above the 5 s a member's route confirmation may take when another member is silent (route-sync.ts). */
const CALL_TIMEOUT_MS = 6000;

/** Messages carried per call: well under a link frame's 64 MiB (a larger session goes alone, and fails if over it). */
const MESSAGES_PER_CALL_BYTES = 16 * 1024 * 1024;

/** Roughly what a session's messages weigh on the wire. */
function weight(m: EvacuatedSession | null): number {
  if (!m) return 64;
  let n = 256;
  for (const e of m.state.inflight) n += 128 + e.d.msg.payload.length;
  for (const d of m.state.queue) n += 128 + d.msg.payload.length;
  return n;
}

/** `items` cut into runs of at most `max` bytes each (at least one item a run). */
export function bySize<T extends readonly [string, EvacuatedSession | null]>(items: readonly T[], max: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const w = weight(it[1]);
    if (run.length > 0 && bytes + w > max) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(it);
    bytes += w;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Where each session goes: the owner of its client id among the members that stay (as sessions.ts picks owners). */
export function evacuationPlan(clientIds: readonly string[], staying: readonly string[]): Map<string, string[]> {
  const members = [...staying].sort();
  const plan = new Map<string, string[]>();
  if (members.length === 0) return plan;
  for (const id of clientIds) {
    const to = members[fnv1a(id) % members.length]!;
    let list = plan.get(to);
    if (!list) plan.set(to, (list = []));
    list.push(id);
  }
  return plan;
}

export interface EvacuationHost {
  readonly self: string;
  readonly dist: Dist;
  readonly broker: Broker;
  readonly log: Log;
  /** Running members, this node included. */
  running(): string[];
}

const isStubs = (p: unknown): p is { stubs: EvacuationStub[] } => Array.isArray((p as { stubs?: unknown } | undefined)?.stubs);
const isMoved = (p: unknown): p is { moved: Array<[string, EvacuatedSession | null]> } => Array.isArray((p as { moved?: unknown } | undefined)?.moved);

/** The receiving side of both steps. */
export function serveEvacuation(h: EvacuationHost): void {
  h.dist.handle(EVACUATION_CHANNELS.adopt, async (_from, p) => {
    if (!isStubs(p)) throw new Error('malformed adopt');
    return Promise.all(p.stubs.map((s) => h.broker.adoptStub(s)));
  });
  h.dist.handle(EVACUATION_CHANNELS.messages, (from, p) => {
    if (!isMoved(p)) throw new Error('malformed adopt_msgs');
    for (const [id, moved] of p.moved) h.broker.adoptMessages(id, moved ?? undefined);
    h.log.info({ from, sessions: p.moved.filter(([, m]) => m !== null).length }, 'took over sessions from a stopping node');
    return true;
  });
}

/** Moves this node's detached persistent sessions to the members that stay; bounded by `deadlineMs`. */
export async function evacuate(h: EvacuationHost, deadlineMs: number): Promise<{ moved: number; left: number }> {
  // From now on this node takes no sessions from others stopping at the same time: they would end with it.
  h.broker.stopAdopting();
  // Sessions this node took from another stopping node a moment ago move on only with their
  // messages, which may still be on their way (3 s at most).
  const filling = h.broker.evacuable().map((id) => h.broker.stubFilled(id)).filter((p): p is Promise<void> => p !== undefined);
  if (filling.length > 0) await Promise.race([Promise.all(filling), new Promise((resolve) => setTimeout(resolve, STUB_WAIT_MS).unref())]);
  let pending = h.broker.evacuable();
  let staying = h.running().filter((n) => n !== h.self && h.dist.isUp(n));
  const end = Date.now() + deadlineMs;
  let moved = 0;
  // A member stopping at the same time refuses (`leaving`): its share goes to the others, until
  // none is left.
  while (pending.length > 0 && staying.length > 0 && Date.now() < end) {
    const leaving = new Set<string>();
    const again: string[] = [];
    await Promise.all(
      [...evacuationPlan(pending, staying)].map(async ([to, list]) => {
        for (let i = 0; i < list.length && Date.now() < end; i += BATCH) {
          const stubs = list
            .slice(i, i + BATCH)
            .map((id) => h.broker.evacuationStub(id))
            .filter((s): s is EvacuationStub => s !== undefined);
          if (stubs.length === 0) continue;
          try {
            const answers = (await h.dist.call(to, EVACUATION_CHANNELS.adopt, { stubs }, Math.min(CALL_TIMEOUT_MS, Math.max(1, end - Date.now())))) as string[];
            if (answers.includes('leaving')) {
              leaving.add(to);
              again.push(...list.slice(i));
              return;
            }
            // In one turn: the sessions leave here as their messages are packed. One the member
            // did not take (it has a session for that id) stays here; one gone from here since
            // (its client came back elsewhere) goes as null, and the member drops its stub.
            const out: Array<[string, EvacuatedSession | null]> = stubs.filter((_, k) => answers[k] === 'taken').map((s) => [s.client.clientId, h.broker.evacuate(s.client.clientId) ?? null]);
            for (const part of bySize(out, MESSAGES_PER_CALL_BYTES)) {
              await h.dist.call(to, EVACUATION_CHANNELS.messages, { moved: part }, CALL_TIMEOUT_MS);
              moved += part.filter(([, m]) => m !== null).length;
            }
          } catch (err) {
            h.log.warn({ peer: to, sessions: stubs.length, err: err instanceof Error ? err.message : String(err) }, 'could not hand sessions to a member; they stay here');
            leaving.add(to);
            return;
          }
        }
      }),
    );
    staying = staying.filter((n) => !leaving.has(n));
    pending = again;
  }
  return { moved, left: h.broker.evacuable().length };
}
