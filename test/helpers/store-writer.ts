// A process that writes to a store without pause, for the crash tests: it prints one line per
// acknowledged operation on stdout (a pipe, written synchronously), so whoever kills it knows
// exactly what must survive.
//   ready
//   ack <id>             batch <id> was acknowledged (write() resolved)
//   big-begin <id>       a batch of several MiB is about to be written
//   state <id>           state document 'progress' = {id} was acknowledged
//   replace-begin <gen>  a replace is being staged: the current content minus table 'scratch',
//                        plus meta/gen = {gen}
//   replace <gen>        that replace committed
//   clear-begin          clear() was called
//   cleared              clear() resolved
// A normal batch <id> writes batches/<id>, hot/h<id % 50>, scratch/s<id % 20> and, when id % 7 is
// 0, a tombstone tomb/<id>. A big batch writes batches/<id> and bigs/big<id % 3>.
// Usage: node --import tsx test/helpers/store-writer.ts <dir> <seed> <firstId>
// Store logs (pino JSON, debug level) go to stderr, so a test can also kill on "compaction started".
import { pino } from 'pino';
import { Store, type StoredRecord } from '../../src/db/store/index.js';
import { prng } from './prng.js';

const [dir, seedArg, firstArg] = process.argv.slice(2);
if (!dir || !seedArg || !firstArg) {
  process.stderr.write('usage: store-writer <dir> <seed> <firstId>\n');
  process.exit(2);
}

const LIFETIME_MS = 60_000;

const random = prng(Number(seedArg));
const logger = pino({ level: 'debug' }, pino.destination({ fd: 2, sync: true }));
const store = await Store.open(dir, { logger, compactLogBytes: 32 * 1024 });
const say = (line: string): void => void process.stdout.write(line + '\n');
say('ready');

// Bounded even if nobody kills it (a crashed test must not leave it writing forever).
const deadline = Date.now() + LIFETIME_MS;
let id = Number(firstArg);
let gens = 0;
while (Date.now() < deadline) {
  const r = random();
  if (r < 0.86) {
    // Several concurrent batches: they share fsyncs (group commit).
    const n = 1 + Math.floor(random() * 8);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const b = id++;
      const meta = { b };
      const records: StoredRecord[] = [
        { table: 'batches', key: String(b), value: { id: b, pad: 'x'.repeat(Math.floor(random() * 400)) }, meta },
        { table: 'hot', key: `h${b % 50}`, value: { id: b }, meta },
        { table: 'scratch', key: `s${b % 20}`, value: { id: b }, meta },
      ];
      if (b % 7 === 0) records.push({ table: 'tomb', key: String(b), value: undefined, deleted: true, meta });
      writes.push(store.write(records).then(() => say(`ack ${b}`)));
    }
    await Promise.all(writes);
  } else if (r < 0.88) {
    // A large batch takes long enough to write that a kill can land in the middle of it (torn tail).
    const b = id++;
    say(`big-begin ${b}`);
    await store.write([
      { table: 'batches', key: String(b), value: { id: b }, meta: { b } },
      { table: 'bigs', key: `big${b % 3}`, value: Buffer.alloc((1 + Math.floor(random() * 4)) << 20, b % 256), meta: { b } },
    ]);
    say(`ack ${b}`);
  } else if (r < 0.92) {
    const b = id - 1;
    await store.writeState('progress', { id: b });
    say(`state ${b}`);
  } else if (r < 0.95) {
    // Compaction also runs by itself; asking for it often puts more kills in the middle of one.
    await store.compact();
  } else if (r < 0.99) {
    const gen = `${seedArg}.${gens++}`;
    say(`replace-begin ${gen}`);
    const keep = [...store.entries()].filter((rec) => rec.table !== 'scratch');
    const rep = store.beginReplace();
    for (let i = 0; i < keep.length; i += 500) await rep.add(keep.slice(i, i + 500));
    await rep.add([{ table: 'meta', key: 'gen', value: { gen }, meta: null }]);
    await rep.commit();
    say(`replace ${gen}`);
  } else {
    say('clear-begin');
    await store.clear();
    say('cleared');
  }
}
await store.close();
