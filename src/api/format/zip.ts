// A zip archive of stored (uncompressed) files, as the trace download sends (EMQX answers it
// with a zip). Only what that needs: no compression, no zip64 (each file and the whole under
// 4 GiB), UTF-8 names. Pure.
import { crc32 } from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
  /** ms since epoch. */
  readonly mtime: number;
}

/** MS-DOS time and date of `ms`, local time, as zip stores them. */
function dosTime(ms: number): { time: number; date: number } {
  const d = new Date(Math.max(ms, Date.UTC(1980, 0, 2)));
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

const UTF8_NAMES = 0x0800;

/** The 24 bytes a local header and a central directory entry share: flags to extra length. */
function common(to: Buffer, at: number, nameLength: number, size: number, crc: number, mtime: number): void {
  const { time, date } = dosTime(mtime);
  to.writeUInt16LE(UTF8_NAMES, at);
  to.writeUInt16LE(0, at + 2); // stored, no compression
  to.writeUInt16LE(time, at + 4);
  to.writeUInt16LE(date, at + 6);
  to.writeUInt32LE(crc, at + 8);
  to.writeUInt32LE(size, at + 12);
  to.writeUInt32LE(size, at + 16);
  to.writeUInt16LE(nameLength, at + 20);
  to.writeUInt16LE(0, at + 22);
}

export function zipStore(entries: readonly ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    common(local, 6, name.length, e.data.length, crc, e.mtime);
    parts.push(local, name, e.data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    common(c, 8, name.length, e.data.length, crc, e.mtime);
    c.writeUInt32LE(offset, 42);
    central.push(c, name);
    offset += local.length + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}
