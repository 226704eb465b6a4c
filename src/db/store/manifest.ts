// The manifest names the durable state of the store: which snapshot (if any) and from which log
// on to replay. It is the single switch point of compaction, replace and clear: replacing it
// atomically is what makes those operations atomic.
import { FRAME_HEADER_BYTES, checkHeader, encodeFrame, payloadMatches } from './frame.js';
import { MAGIC, MAGIC_BYTES, MANIFEST_FILE, readDocument, writeFileAtomic } from './files.js';

export interface Manifest {
  readonly format: 1;
  /** File number of the snapshot to load first; null for an empty base. */
  readonly snapshot: number | null;
  /** Logs numbered from this one upwards are replayed, in order, on top of the snapshot. */
  readonly firstLog: number;
}

export function encodeManifest(m: Manifest): Buffer {
  return Buffer.concat([MAGIC.manifest, encodeFrame(Buffer.from(JSON.stringify(m)))]);
}

/** Pure decoder; `problem` describes the damage when there is some. */
export function decodeManifest(buf: Buffer): { manifest: Manifest } | { problem: string } {
  if (buf.length < MAGIC_BYTES + FRAME_HEADER_BYTES) return { problem: `file is ${buf.length} bytes, too short for a manifest` };
  if (!buf.subarray(0, MAGIC_BYTES).equals(MAGIC.manifest)) return { problem: 'bad magic at offset 0 (not a store manifest)' };
  const h = checkHeader(buf.subarray(MAGIC_BYTES, MAGIC_BYTES + FRAME_HEADER_BYTES));
  if (!h.ok) return { problem: `${h.reason} at offset ${MAGIC_BYTES}` };
  const start = MAGIC_BYTES + FRAME_HEADER_BYTES;
  if (buf.length !== start + h.length) return { problem: `length mismatch: header says ${h.length} bytes of content, file has ${buf.length - start}` };
  const body = buf.subarray(start);
  if (!payloadMatches(body, h.crc)) return { problem: `checksum mismatch at offset ${MAGIC_BYTES}` };
  let m: unknown;
  try {
    m = JSON.parse(body.toString('utf8'));
  } catch {
    return { problem: 'content is not JSON' };
  }
  const o = m as Record<string, unknown>;
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  if (typeof m !== 'object' || m === null || o.format !== 1 || !(o.snapshot === null || isNum(o.snapshot)) || !isNum(o.firstLog)) {
    return { problem: `unknown manifest content ${body.toString('utf8').slice(0, 200)}` };
  }
  return { manifest: { format: 1, snapshot: o.snapshot as number | null, firstLog: o.firstLog } };
}

/** undefined when there is no manifest; StoreCorruptError when there is a damaged one. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  return readDocument(dir, MANIFEST_FILE, (buf) => {
    const d = decodeManifest(buf);
    return 'problem' in d ? d : { value: d.manifest };
  });
}

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeFileAtomic(dir, MANIFEST_FILE, encodeManifest(m));
}
