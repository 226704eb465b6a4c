// Small named documents beside the tables (membership view etc.), each replaced atomically.
//   magic "EMQXSTA1" | frame(v8 value)
import { deserialize, serialize } from 'node:v8';
import { StoreRecordError } from './errors.js';
import { FRAME_HEADER_BYTES, checkHeader, encodeFrame, payloadMatches } from './frame.js';
import { MAGIC, MAGIC_BYTES, STATE_NAME_RE, readDocument, stateName, writeFileAtomic } from './files.js';

export function checkStateName(name: string): void {
  if (typeof name !== 'string' || !STATE_NAME_RE.test(name)) {
    throw new StoreRecordError(`state document name ${JSON.stringify(name)} is invalid: use letters, digits, '_', '-', '.' (at most 100, not starting with '.' or '-')`);
  }
}

export function encodeState(name: string, value: unknown): Buffer {
  checkStateName(name);
  let payload: Buffer;
  try {
    payload = serialize(value);
  } catch (err) {
    throw new StoreRecordError(`state document cannot be stored: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Buffer.concat([MAGIC.state, encodeFrame(payload)]);
}

export function decodeState(buf: Buffer): { value: unknown } | { problem: string } {
  if (buf.length < MAGIC_BYTES + FRAME_HEADER_BYTES) return { problem: `file is ${buf.length} bytes, too short for a state document` };
  if (!buf.subarray(0, MAGIC_BYTES).equals(MAGIC.state)) return { problem: 'bad magic at offset 0 (not a state document)' };
  const h = checkHeader(buf.subarray(MAGIC_BYTES, MAGIC_BYTES + FRAME_HEADER_BYTES));
  if (!h.ok) return { problem: `${h.reason} at offset ${MAGIC_BYTES}` };
  const body = buf.subarray(MAGIC_BYTES + FRAME_HEADER_BYTES);
  if (body.length !== h.length) return { problem: `length mismatch: header says ${h.length} bytes, file has ${body.length}` };
  if (!payloadMatches(body, h.crc)) return { problem: `checksum mismatch at offset ${MAGIC_BYTES}` };
  try {
    return { value: deserialize(body) };
  } catch {
    return { problem: 'undecodable content (checksum is good: written by an incompatible version?)' };
  }
}

export async function readStateDoc(dir: string, name: string): Promise<unknown> {
  checkStateName(name);
  return readDocument(dir, stateName(name), decodeState);
}

/** Writes a document encoded by encodeState. */
export async function writeStateDoc(dir: string, name: string, data: Buffer): Promise<void> {
  checkStateName(name);
  await writeFileAtomic(dir, stateName(name), data);
}
