// The broker's pure indexes on their hot paths: matching a PUBLISH topic against 100,000 exact and
// 10,000 wildcard filters, adding and removing 100,000 filters, and finding the retained messages
// of wildcard filters among 100,000 retained topics, against the scan it replaces.
// `npx tsx bench/broker-index.bench.ts [--quick]` prints the figures; `npm run bench` includes it.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RetainedIndex } from '../src/broker/retained-index.js';
import { SubscriptionIndex } from '../src/broker/subscription-index.js';
import { matches } from '../src/mqtt/topic.js';
import type { BenchRow, BenchSection } from './types.js';

/** The slice of qlobber's API used here (no type declarations ship with it). */
interface QlobberLike {
  add(topic: string, value: string): unknown;
  remove(topic: string, value: string): unknown;
  match(topic: string): unknown[];
}

/**
 * The reference: qlobber, the trie aedes matches every publish with (through mqemitter, with
 * empty levels matched by '+', as aedes configures it). It comes with aedes, a dev dependency;
 * without it the rows have no reference.
 */
function newQlobber(): QlobberLike | undefined {
  try {
    const { Qlobber } = createRequire(import.meta.url)('qlobber') as { Qlobber: new (opts: object) => QlobberLike };
    return new Qlobber({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true });
  } catch {
    return undefined;
  }
}
const QLOBBER = 'qlobber 8 (aedes)';

/** Calls `step(i)` for `ms`, reading the clock every `batch` calls; returns calls per second. */
function rate(ms: number, step: (i: number) => void, batch = 64): number {
  let i = 0;
  const start = performance.now();
  let now: number;
  do {
    for (const end = i + batch; i < end; i++) step(i);
    now = performance.now();
  } while (now - start < ms);
  return i / ((now - start) / 1000);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const ROUNDS = 5;

/**
 * Ours and the reference in alternating rounds, medians of each: other work on a shared machine
 * then weighs on both alike instead of on whichever ran during a burst.
 */
function interleaved(
  rounds: number,
  ours: () => number,
  reference: (() => number) | undefined,
): Pick<BenchRow, 'ours' | 'reference' | 'rounds'> {
  const o: number[] = [];
  const r: number[] = [];
  for (let k = 0; k < rounds; k++) {
    o.push(ours());
    if (reference !== undefined) r.push(reference());
  }
  return { ours: median(o), reference: reference === undefined ? undefined : median(r), rounds: { ours: o, reference: r } };
}

/** Runs `body` once; returns items per second. */
function timed(items: number, body: () => void): number {
  const start = performance.now();
  body();
  return items / ((performance.now() - start) / 1000);
}

// Shapes of a fleet: 100 sites x 200 devices x 5 metrics = 100,000 topics.
const SITES = 100;
const DEVICES = 200;
const METRICS = ['temp', 'hum', 'co2', 'state', 'battery'] as const;
const topicOf = (i: number): string =>
  `site/${i % SITES}/dev/${Math.floor(i / SITES) % DEVICES}/${METRICS[Math.floor(i / (SITES * DEVICES)) % METRICS.length]}`;

/** 10,000 wildcard filters of the kinds dashboards and rule engines subscribe with. */
function wildcardFilters(): string[] {
  const out: string[] = [];
  for (let s = 0; s < SITES; s++) for (const m of METRICS) out.push(`site/${s}/dev/+/${m}`); // 500
  for (let s = 0; s < SITES; s++) out.push(`site/${s}/#`); // 100
  for (let d = 0; d < DEVICES; d++) for (const m of METRICS) out.push(`site/+/dev/${d}/${m}`); // 1,000
  for (let d = 0; d < DEVICES; d++) out.push(`site/+/dev/${d}/#`); // 200
  // The rest: per-tenant alert and command filters that a fleet's topics never hit.
  for (let k = 0; out.length < 10_000; k++) out.push(k % 2 === 0 ? `tenant/${k}/alerts/+` : `tenant/${k}/cmd/#`);
  return out;
}

function subscriptionRows(ms: number): BenchRow[] {
  const rows: BenchRow[] = [];
  const idx = new SubscriptionIndex<number>();
  const exact: string[] = Array.from({ length: 100_000 }, (_, i) => topicOf(i));
  for (let i = 0; i < exact.length; i++) idx.add(exact[i]!, `c${i}`, 1);
  const wild = wildcardFilters();
  for (let i = 0; i < wild.length; i++) idx.add(wild[i]!, `w${i}`, 1);
  const q = newQlobber();
  if (q !== undefined) {
    for (let i = 0; i < exact.length; i++) q.add(exact[i]!, `c${i}`);
    for (let i = 0; i < wild.length; i++) q.add(wild[i]!, `w${i}`);
  }

  let sink = 0;
  const count = (): void => {
    sink++;
  };
  // Hits: an exact filter plus 4 wildcard ones each (site/s/dev/+/m, site/s/#, site/+/dev/d/m, site/+/dev/d/#).
  const hits = Array.from({ length: 4096 }, (_, i) => exact[(i * 7919) % exact.length]!);
  // Misses that share their first levels with many filters (the walk goes down before failing) ...
  const nearMisses = Array.from({ length: 4096 }, (_, i) => `site/${SITES + i}/dev/${DEVICES + i}/temp`);
  // ... and misses that leave at the first level.
  const misses = Array.from({ length: 4096 }, (_, i) => `factory/${i}/line/${i % 13}`);
  const matchCount = (topic: string): number => {
    let n = 0;
    idx.match(topic, () => n++);
    return n;
  };
  for (const [topic, n] of [
    [hits[0]!, 5],
    [nearMisses[0]!, 0],
    [misses[0]!, 0],
  ] as const) {
    if (matchCount(topic) !== n || (q !== undefined && q.match(topic).length !== n)) throw new Error(`${topic} should match ${n} filters`);
  }

  const slice = ms / ROUNDS;
  const label = 'SubscriptionIndex.match, 100k exact + 10k wildcard filters';
  for (const [what, topics] of [
    ['topic hitting 5 filters', hits],
    ['topic matching nothing (shares its first levels with filters)', nearMisses],
    ['topic matching nothing (unknown first level)', misses],
  ] as const) {
    const m = interleaved(
      ROUNDS,
      () => rate(slice, (i) => idx.match(topics[i & 4095]!, count)),
      q && (() => rate(slice, (i) => (sink += q.match(topics[i & 4095]!).length))),
    );
    rows.push({ name: `${label}, ${what}`, unit: 'matches/s', ...m, referenceName: QLOBBER, higherIsBetter: true });
  }

  // Only exact filters stored: the one-lookup path.
  const exactOnly = new SubscriptionIndex<number>();
  for (let i = 0; i < exact.length; i++) exactOnly.add(exact[i]!, `c${i}`, 1);
  rows.push({ name: 'SubscriptionIndex.match, 100k exact filters only, topic hitting 1', unit: 'matches/s', ours: rate(ms / 2, (i) => exactOnly.match(hits[i & 4095]!, count)), higherIsBetter: true });
  rows.push({ name: 'SubscriptionIndex.hasMatch, 100k exact + 10k wildcard, topic matching nothing (shares its first levels)', unit: 'calls/s', ours: rate(ms / 2, (i) => (sink += idx.hasMatch(nearMisses[i & 4095]!) ? 1 : 0)), higherIsBetter: true });

  // Add and remove: 100,000 exact filters, then 100,000 wildcard ones (a trie path each), each
  // round into a fresh index.
  const wild100k = Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? `site/${i}/dev/+/temp` : i % 3 === 1 ? `site/+/dev/${i}/#` : `tenant/${i}/+/x/#`));
  for (const [kind, filters] of [
    ['exact', exact],
    ['wildcard', wild100k],
  ] as const) {
    const n = filters.length;
    const ours = { add: [] as number[], remove: [] as number[] };
    const ref = { add: [] as number[], remove: [] as number[] };
    for (let k = 0; k < 3; k++) {
      const fresh = new SubscriptionIndex<number>();
      ours.add.push(timed(n, () => filters.forEach((f, i) => fresh.add(f, 'c', i))));
      ours.remove.push(timed(n, () => filters.forEach((f) => fresh.remove(f, 'c'))));
      if (fresh.size !== 0 || fresh.filterCount !== 0) throw new Error('remove left pairs behind');
      const other = newQlobber();
      if (other !== undefined) {
        ref.add.push(timed(n, () => filters.forEach((f) => other.add(f, 'c'))));
        ref.remove.push(timed(n, () => filters.forEach((f) => other.remove(f, 'c'))));
      }
    }
    for (const op of ['add', 'remove'] as const) {
      rows.push({
        name: op === 'add' ? `SubscriptionIndex.add, 100k ${kind} filters into an empty index` : `SubscriptionIndex.remove, the same 100k ${kind} filters`,
        unit: `${op}s/s`,
        ours: median(ours[op]),
        reference: ref[op].length > 0 ? median(ref[op]) : undefined,
        referenceName: QLOBBER,
        higherIsBetter: true,
        rounds: { ours: ours[op], reference: ref[op] },
      });
    }
  }
  if (sink < 0) console.log(sink);
  return rows;
}

function retainedRows(ms: number): BenchRow[] {
  const rows: BenchRow[] = [];
  const idx = new RetainedIndex<number>();
  const topics = Array.from({ length: 100_000 }, (_, i) => topicOf(i));
  for (let i = 0; i < topics.length; i++) idx.set(topics[i]!, i);
  if (idx.size !== 100_000) throw new Error(`expected 100,000 retained topics, have ${idx.size}`);

  /** The scan an unindexed store does for every wildcard subscribe (aedes-persistence does this). */
  const scan = (filter: string, visit: (t: string, m: number) => void): void => {
    for (const t of idx.topics()) if (matches(filter, t)) visit(t, idx.get(t)!);
  };
  const cases: [string, number, (i: number) => string][] = [
    ['site/<s>/dev/+/temp', 200, (i) => `site/${i % SITES}/dev/+/temp`],
    ['site/+/dev/<d>/#', 500, (i) => `site/+/dev/${i % DEVICES}/#`],
    ['site/<s>/#', 1_000, (i) => `site/${i % SITES}/#`],
    ['site/+/dev/<d>/+/x', 0, (i) => `site/+/dev/${i % DEVICES}/+/x`],
  ];
  let found = 0;
  const count = (): void => {
    found++;
  };
  for (const [label, expect, filterOf] of cases) {
    const filters = Array.from({ length: 256 }, (_, i) => filterOf(i));
    found = 0;
    idx.match(filters[0]!, count);
    const indexed = found;
    found = 0;
    scan(filters[0]!, count);
    if (indexed !== expect || found !== expect) throw new Error(`${filters[0]}: found ${indexed} (scan ${found}), expected ${expect}`);
    // A scan round is a thousand times slower: each still gets enough time for dozens of scans.
    const m = interleaved(
      ROUNDS,
      () => rate(ms / ROUNDS, (i) => idx.match(filters[i & 255]!, count)),
      () => rate(ms / ROUNDS / 2, (i) => scan(filters[i & 255]!, count), 1),
    );
    rows.push({
      name: `RetainedIndex.match ${label} (${expect.toLocaleString('en-US')} found), 100k retained`,
      unit: 'lookups/s',
      ...m,
      referenceName: 'scan of every topic with matches()',
      higherIsBetter: true,
    });
  }
  return rows;
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const ms = quick ? 150 : 1000;
  return [
    { title: 'Broker indexes: subscriptions (PUBLISH matching)', rows: subscriptionRows(ms) },
    { title: 'Broker indexes: retained messages (wildcard SUBSCRIBE)', rows: retainedRows(ms) },
  ];
}

const fmt = (n: number | null | undefined): string => (n == null ? '—' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  for (const section of await run({ quick: process.argv.includes('--quick') })) {
    console.log(`\n${section.title}`);
    for (const r of section.rows) {
      const x = r.reference == null ? 0 : r.ours! / r.reference;
      const ref = r.reference == null ? '' : `   vs ${fmt(r.reference)} (${r.referenceName}): ${x >= 10 ? x.toFixed(0) : x.toFixed(1)}x`;
      console.log(`  ${r.name}: ${fmt(r.ours)} ${r.unit}${ref}`);
    }
  }
  console.log(`\n(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
