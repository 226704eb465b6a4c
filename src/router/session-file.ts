// Sessions a stopping node cannot hand to another member (it runs alone, or the others are down)
// are written to its data directory and taken back when it starts again, so a graceful restart
// keeps what clients left behind: subscriptions, queued and in-flight messages, a pending will.
// EMQX 5 keeps sessions across a restart only with its durable sessions on (off by default, and
// then for every message as it comes); here the cost is paid once, at the stop. A crash or a
// `kill -9` writes nothing: those sessions are lost, as before.
//
// The file holds what a hand-over to another member carries (evacuation.ts), in v8's format,
// with the time it was written: what is left of an expiry or a will delay is counted from there,
// the time the node was down included, as MQTT counts it.
import { readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Broker } from '../broker/broker.js';
import type { EvacuatedSession, EvacuationStub } from '../broker/session.js';
import { writeFileAtomic } from '../db/store/files.js';

const VERSION = 1;

interface SessionFile {
  readonly version: number;
  readonly node: string;
  readonly savedAt: number;
  readonly sessions: ReadonlyArray<readonly [EvacuationStub, EvacuatedSession]>;
}

/** `<data_dir>/sessions.<node>.bin`: named after the node, as its database is (a data directory moved to another node name is not taken). */
export const sessionFileName = (node: string): string => `sessions.${node}.bin`;

/** Writes every session this node still holds without a connection, each then ended here. Returns how many. */
export async function saveSessions(broker: Broker, dir: string, node: string): Promise<number> {
  const sessions: Array<[EvacuationStub, EvacuatedSession]> = [];
  for (const id of broker.evacuable()) {
    const stub = broker.evacuationStub(id);
    const moved = stub && broker.evacuate(id);
    if (stub && moved) sessions.push([stub, moved]);
  }
  if (sessions.length === 0) return 0;
  const file: SessionFile = { version: VERSION, node, savedAt: Date.now(), sessions };
  await writeFileAtomic(dir, sessionFileName(node), serialize(file));
  return sessions.length;
}

export interface Restored {
  readonly restored: number;
  /** Expired while the node was down (their pending wills published now). */
  readonly expired: number;
  /** Held by another member meanwhile: that one stays. */
  readonly elsewhere: number;
}

function readable(v: unknown, node: string): v is SessionFile {
  const f = v as Partial<SessionFile> | undefined;
  return f?.version === VERSION && f.node === node && typeof f.savedAt === 'number' && Array.isArray(f.sessions);
}

/**
 * Takes back the sessions of the last graceful stop, then removes the file. `heldElsewhere`: a
 * client id another member holds a session for now. A file this node cannot read is kept aside
 * (renamed `.unreadable`), never taken half.
 */
export async function restoreSessions(broker: Broker, dir: string, node: string, heldElsewhere: (clientId: string) => boolean): Promise<Restored | undefined> {
  const path = join(dir, sessionFileName(node));
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let file: unknown;
  try {
    file = deserialize(raw);
  } catch {
    file = undefined;
  }
  if (!readable(file, node)) {
    await rename(path, `${path}.unreadable`);
    throw new Error(`${path} is not a session file of ${node} (version ${VERSION}); kept as ${path}.unreadable`);
  }
  const away = Math.max(0, Date.now() - file.savedAt);
  let expired = 0;
  let elsewhere = 0;
  const taking: Array<{ readonly id: string; readonly moved: EvacuatedSession; readonly taken: Promise<string> }> = [];
  for (const [stub, moved] of file.sessions) {
    const id = stub.client.clientId;
    if (heldElsewhere(id)) {
      elsewhere++;
      continue;
    }
    if (stub.expiryMs >= 0 && stub.expiryMs - away <= 0) {
      // Ended while the node was down: what would have gone out at its end goes out now.
      if (moved.will) broker.publishLateWill(moved.will);
      expired++;
      continue;
    }
    // Each stub is in place when adoptStub returns; only the members' route confirmations are
    // awaited, all at once.
    taking.push({ id, moved, taken: broker.adoptStub({ ...stub, expiryMs: stub.expiryMs < 0 ? -1 : stub.expiryMs - away }) });
  }
  let restored = 0;
  for (const { id, moved, taken } of taking) {
    if ((await taken) !== 'taken') {
      elsewhere++;
      continue;
    }
    const { will, willDelayMs, ...rest } = moved;
    const willLeft = (willDelayMs ?? 0) - away;
    if (will && willLeft <= 0) broker.publishLateWill(will);
    broker.adoptMessages(id, will && willLeft > 0 ? { ...rest, will, willDelayMs: willLeft } : rest);
    restored++;
  }
  await unlink(path);
  return { restored, expired, elsewhere };
}
