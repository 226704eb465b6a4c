// `npm run bench [-- --quick] [-- --only name,name]`: runs every benchmark module in one process,
// prints one table, writes bench/results.json (and bench/results.md, the README's table).
import { readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { advantage, type BenchModule, type BenchSection } from './types.js';

const here = new URL('.', import.meta.url).pathname;
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
const only = values.only ? new Set(values.only.split(',')) : undefined;

const modules = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => !only || only.has(name))
  .sort();
// A benchmark with files of its own lives in a folder: bench/<name>/<name>.bench.ts (`--only <name>`).
for (const dir of readdirSync(here, { withFileTypes: true })) {
  if (dir.isDirectory() && readdirSync(join(here, dir.name)).includes(`${dir.name}.bench.ts`) && (!only || only.has(dir.name))) modules.push(`${dir.name}/${dir.name}`);
}

const fmt = (n: number | null | undefined): string =>
  n == null ? '—' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

const sections: BenchSection[] = [];
// Other work on the machine skews every figure: the load average is recorded with the results.
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const timings: { module: string; seconds: number; loadBefore: string; loadAfter: string }[] = [];
for (const name of modules) {
  process.stderr.write(`bench: ${name} ... (load ${load()})\n`);
  const loadBefore = load();
  const t0 = performance.now();
  try {
    const mod = (await import(join(here, `${name}.bench.ts`))) as BenchModule;
    sections.push(...(await mod.run({ quick: values.quick })));
  } catch (err) {
    sections.push({ title: `${name} (failed)`, rows: [{ name: String(err instanceof Error ? err.message : err), unit: '', ours: null }] });
  }
  timings.push({ module: name, seconds: (performance.now() - t0) / 1000, loadBefore, loadAfter: load() });
}

const lines: string[] = [];
for (const s of sections) {
  lines.push(`### ${s.title}`, '', '| measure | ours | reference | advantage |', '|---|---:|---:|---:|');
  for (const r of s.rows) {
    const ref = r.reference === undefined ? '' : `${fmt(r.reference)} ${r.unit}${r.referenceName ? ` (${r.referenceName})` : ''}`;
    const adv = advantage(r);
    lines.push(`| ${r.name}${r.note ? ` — ${r.note}` : ''} | ${fmt(r.ours)} ${r.unit} | ${ref} | ${adv == null ? '' : `${adv.toFixed(1)}×`} |`);
  }
  lines.push('');
}
lines.push('### Run', '', '| module | seconds | load average before (1, 5, 15 min) | after |', '|---|---:|---|---|');
for (const t of timings) lines.push(`| ${t.module} | ${t.seconds.toFixed(0)} | ${t.loadBefore} | ${t.loadAfter} |`);
lines.push('');
const table = lines.join('\n');
console.log(table);
const meta = { date: new Date().toISOString(), node: process.version, quick: values.quick };
// Only a full run replaces the published figures; a partial or quick one goes beside them.
const stem = only || values.quick ? 'results.partial' : 'results';
writeFileSync(join(here, `${stem}.json`), JSON.stringify({ ...meta, timings, sections }, null, 2) + '\n');
writeFileSync(join(here, `${stem}.md`), `<!-- written by npm run bench on ${meta.date} -->\n\n${table}`);
process.stderr.write(`bench: wrote bench/${stem}.json and bench/${stem}.md\n`);
