// Runs of records in the store's own on-disk form, for moving a whole database to another node:
// the sender encodes each run once, as checksummed frames exactly like a snapshot file's, and the
// receiver checks and decodes them and writes the same bytes into its staged snapshot, instead of
// decoding, re-encoding and checksumming everything a second time (pure).
import { StoreRecordError } from './errors.js';
import { FRAME_HEADER_BYTES, checkHeader, frameHeader, payloadMatches } from './frame.js';
import { decodeRecords, encodeRecords, type StoredRecord } from './record.js';

/**
 * One frame holding `records` (normalized, as the store hands them out), as [header, payload]:
 * the two concatenated are the frame. Throws StoreRecordError naming a record that cannot be encoded.
 */
export function encodeRecordFrame(records: readonly StoredRecord[]): [header: Buffer, payload: Buffer] {
  const payload = encodeRecords(records);
  return [frameHeader(payload), payload];
}

/**
 * Checks every frame of `bytes` (whole frames, back to back) and decodes their records, in order.
 * Throws StoreRecordError saying where the bytes are damaged or what they are not.
 */
export function decodeRecordFrames(bytes: Buffer): StoredRecord[] {
  const out: StoredRecord[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < FRAME_HEADER_BYTES) throw new StoreRecordError(`transferred records end inside a frame header at offset ${off}`);
    const h = checkHeader(bytes.subarray(off, off + FRAME_HEADER_BYTES));
    if (!h.ok) throw new StoreRecordError(`transferred records are damaged at offset ${off}: ${h.reason}`);
    const end = off + FRAME_HEADER_BYTES + h.length;
    if (end > bytes.length) throw new StoreRecordError(`transferred records end inside a frame at offset ${off} (${bytes.length - off} of ${end - off} bytes)`);
    const payload = bytes.subarray(off + FRAME_HEADER_BYTES, end);
    if (!payloadMatches(payload, h.crc)) throw new StoreRecordError(`transferred records are damaged at offset ${off}: checksum mismatch in a frame of ${h.length} bytes`);
    const records = decodeRecords(payload);
    if (!records) throw new StoreRecordError(`the frame at offset ${off} of the transferred records is not a batch of records`);
    for (const r of records) out.push(r);
    off = end;
  }
  return out;
}
