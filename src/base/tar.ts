// The POSIX ustar archive format, for regular files only: what a data backup needs, readable by
// GNU tar and bsdtar, and reading what they write (their long-name and attribute extensions are
// skipped, a long name in a GNU 'L' entry applied). Pure: bytes in, bytes out.

export interface TarEntry {
  readonly name: string;
  readonly data: Buffer;
  /** Modification time, ms since the epoch. */
  readonly mtimeMs?: number;
  /** Permission bits (default 0o644). */
  readonly mode?: number;
}

/** A file to write: its bytes whole, or in pieces (written one after another, never joined). */
export interface TarSource {
  readonly name: string;
  readonly data: Buffer | readonly Buffer[];
  readonly mtimeMs?: number;
  readonly mode?: number;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL.
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** Splits a name into ustar's prefix (up to 155 bytes) and name (up to 100 bytes) at a slash. */
function splitName(name: string): { prefix: string; base: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', base: name };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base !== '') return { prefix, base };
  }
  throw new TarError(`name too long for a tar archive: ${name}`);
}

function sizeOf(data: Buffer | readonly Buffer[]): number {
  return Buffer.isBuffer(data) ? data.length : data.reduce((n, b) => n + b.length, 0);
}

function header(e: TarSource, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, base } = splitName(e.name);
  h.write(base, 0, 100, 'utf8');
  h.write(octal(e.mode ?? 0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor((e.mtimeMs ?? 0) / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/**
 * The archive of `entries` as the pieces to write in order (header, data, padding per file, then
 * the two zero blocks that end it): a large archive can be streamed without being joined.
 */
export function* tarPieces(entries: Iterable<TarSource>): Generator<Buffer> {
  for (const e of entries) {
    const size = sizeOf(e.data);
    yield header(e, size);
    if (Buffer.isBuffer(e.data)) yield e.data;
    else yield* e.data;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** The archive of `entries`, in order, in one buffer. */
export function writeTar(entries: readonly TarSource[]): Buffer {
  return Buffer.concat([...tarPieces(entries)]);
}

function field(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function number(h: Buffer, at: number, len: number, name: string): number {
  const s = field(h, at, len).trim();
  if (!/^[0-7]*$/.test(s)) throw new TarError(`entry ${name}: a header number is not octal (not a tar archive, or a damaged one)`);
  return s === '' ? 0 : parseInt(s, 8);
}

/**
 * The regular files of an archive. Directories, links and extension headers are skipped;
 * anything else malformed (a bad checksum, an entry cut short) is a TarError.
 */
export function readTar(archive: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= archive.length) {
    const h = archive.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    const base = field(h, 0, 100);
    if (number(h, 148, 8, base) !== sum) throw new TarError(`entry ${base}: bad header checksum (not a tar archive, or a damaged one)`);
    const size = number(h, 124, 12, base);
    const type = String.fromCharCode(h[156]!);
    const prefix = h.toString('ascii', 257, 262) === 'ustar' ? field(h, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${base}` : base);
    longName = undefined;
    const start = at + BLOCK;
    if (start + size > archive.length) throw new TarError(`entry ${name}: cut short (${size} bytes announced)`);
    const data = archive.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
    else if (type === '0' || type === '\0') out.push({ name, data, mtimeMs: number(h, 136, 12, name) * 1000, mode: number(h, 100, 8, name) });
  }
  return out;
}
