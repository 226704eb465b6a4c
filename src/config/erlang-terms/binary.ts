// Binaries as erl_parse builds them from `<<Segment, ...>>` in a term file.
import type { ErlBinary, ErlTerm } from './types.js';

export function packBits(bits: readonly number[]): ErlBinary {
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, k) => {
    if (b) bytes[k >> 3] = (bytes[k >> 3] ?? 0) | (0x80 >> (k & 7));
  });
  return bits.length % 8 === 0 ? { binary: bytes } : { binary: bytes, bitLength: bits.length };
}

function bitsOf(b: ErlBinary): number[] {
  const n = b.bitLength ?? b.binary.length * 8;
  return Array.from({ length: n }, (_, k) => ((b.binary[k >> 3] ?? 0) >> (7 - (k & 7))) & 1);
}

function intBits(v: bigint, width: number): number[] {
  const u = BigInt.asUintN(width, v);
  return Array.from({ length: width }, (_, k) => Number((u >> BigInt(width - 1 - k)) & 1n));
}

const SEGMENT_TYPES = new Set(['integer', 'float', 'binary', 'bytes', 'bitstring', 'bits', 'utf8']);

/**
 * Bits of one binary segment as Erlang builds them: integers and strings (each character a
 * segment), floats, binaries, bit strings and UTF-8, big-endian, with sizes and units. What it
 * cannot build (unknown values, little-endian, UTF-16/32) counts as "bad term".
 */
export function segmentBits(value: ErlTerm | undefined, size: { readonly term?: ErlTerm } | undefined, types: readonly string[]): number[] | undefined {
  if (value === undefined || (size !== undefined && size.term === undefined)) return undefined;
  const sizeValue = size?.term;
  if (sizeValue !== undefined && (typeof sizeValue !== 'number' || sizeValue < 0)) return undefined;
  if (types.some((t) => !SEGMENT_TYPES.has(t) && !t.startsWith('unit:') && !['big', 'signed', 'unsigned'].includes(t))) return undefined;
  const kind = types.find((t) => SEGMENT_TYPES.has(t)) ?? 'integer';
  const unitType = types.find((t) => t.startsWith('unit:'));
  const binaryKind = kind === 'binary' || kind === 'bytes' || kind === 'bitstring' || kind === 'bits';
  const unit = unitType ? Number(unitType.slice(5)) : binaryKind && kind !== 'bitstring' && kind !== 'bits' ? 8 : 1;
  const width = sizeValue === undefined ? undefined : sizeValue * unit;
  if (binaryKind) {
    if (typeof value !== 'object' || !('binary' in value)) return undefined;
    const all = bitsOf(value);
    if ((kind === 'binary' || kind === 'bytes') && width === undefined && all.length % 8 !== 0) return undefined;
    if (width === undefined) return all;
    return width <= all.length ? all.slice(0, width) : undefined;
  }
  const chars: (bigint | number)[] | undefined = typeof value === 'string' ? Array.from(value, (c) => c.codePointAt(0) ?? 0)
    : typeof value === 'number' || typeof value === 'bigint' ? [value]
      : typeof value === 'object' && 'float' in value && kind === 'float' ? [value.float]
        : undefined;
  if (chars === undefined) return undefined;
  const out: number[] = [];
  for (const c of chars) {
    if (kind === 'utf8') {
      if (width !== undefined || typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return undefined;
      for (const byte of Buffer.from(String.fromCodePoint(c), 'utf8')) out.push(...intBits(BigInt(byte), 8));
    } else if (kind === 'float') {
      const w = width ?? 64;
      if (w !== 32 && w !== 64) return undefined;
      const buf = Buffer.alloc(w / 8);
      if (w === 32) buf.writeFloatBE(Number(c));
      else buf.writeDoubleBE(Number(c));
      for (const byte of buf) out.push(...intBits(BigInt(byte), 8));
    } else {
      if (typeof c === 'number' && !Number.isInteger(c)) return undefined;
      // Erlang keeps the low bits of an integer that does not fit its segment.
      out.push(...intBits(BigInt(c), width ?? 8));
    }
  }
  return out;
}
