// A process that writes to a store without pause, for the crash tests: it prints one line per
// acknowledged operation on stdout, so whoever kills it knows exactly what must survive.
//   ack <id>           batch <id> was acknowledged (write() resolved)
//   state <id>         state document 'progress' = {id} was acknowledged
//   replace-begin      a full replace (of the current content by itself) is being staged
//   replace <records>  that replace committed
//   big-begin <id>     a batch of several MiB is about to be written
// Usage: node --import tsx test/helpers/store-writer.ts <dir> <seed> <firstId>
// Store logs (pino JSON, debug level) go to stderr, so a test can also kill on "compaction started".
import { pino } from 'pino';
import { Store, type StoredRecord } from '../../src/db/store/index.js';

const [dir, seedArg, firstArg] = process.argv.slice(2);
if (!dir || !seedArg || !firstArg) {
  process.stderr.write('usage: store-writer <dir> <seed> <firstId>\n');
  process.exit(2);
}

/** mulberry32: a small seeded PRNG, so a failing round can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOT_KEYS = 50;
const LIFETIME_MS = 60_000;

const random = prng(Number(seedArg));
const logger = pino({ level: 'debug' }, pino.destination({ fd: 2, sync: true }));
const store = await Store.open(dir, { logger, compactLogBytes: 32 * 1024 });
const say = (line: string): void => void process.stdout.write(line + '\n');
say('ready');

// Bounded even if nobody kills it (a crashed test must not leave it writing forever).
const deadline = Date.now() + LIFETIME_MS;
let id = Number(firstArg);
while (Date.now() < deadline) {
  const r = random();
  if (r < 0.88) {
    // Several concurrent batches: they share fsyncs (group commit).
    const n = 1 + Math.floor(random() * 8);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const b = id++;
      const records: StoredRecord[] = [
        { table: 'batches', key: String(b), value: { id: b, pad: 'x'.repeat(Math.floor(random() * 400)) }, meta: { b } },
        { table: 'hot', key: `h${b % HOT_KEYS}`, value: { id: b }, meta: { b } },
      ];
      if (b % 7 === 0) records.push({ table: 'tomb', key: String(b), value: undefined, deleted: true, meta: { b } });
      writes.push(store.write(records).then(() => say(`ack ${b}`)));
    }
    await Promise.all(writes);
  } else if (r < 0.9) {
    // A large batch takes long enough to write that a kill can land in the middle of it (torn tail).
    const b = id++;
    say(`big-begin ${b}`);
    await store.write([
      { table: 'batches', key: String(b), value: { id: b }, meta: { b } },
      { table: 'bigs', key: `big${b % 3}`, value: Buffer.alloc((1 + Math.floor(random() * 4)) << 20, b % 256), meta: { b } },
    ]);
    say(`ack ${b}`);
  } else if (r < 0.94) {
    const b = id - 1;
    await store.writeState('progress', { id: b });
    say(`state ${b}`);
  } else if (r < 0.97) {
    // Compaction also runs by itself; asking for it often puts more kills in the middle of one.
    await store.compact();
  } else {
    say('replace-begin');
    const current = [...store.entries()];
    const rep = store.beginReplace();
    for (let i = 0; i < current.length; i += 500) await rep.add(current.slice(i, i + 500));
    await rep.commit();
    say(`replace ${current.length}`);
  }
}
await store.close();
