// `emqx ctl vm`: EMQX's view of the runtime, in its layout (`cpu/load1               : 0.48`),
// for what a Node.js node has: the machine's load, the process's memory (`total` is its resident
// memory, then V8's heap and the memory outside it) and its open files against the limit. EMQX's
// `process` and `ports` sections count Erlang processes and ports, which a Node.js node does not
// have: they are not printed.
import { loadavg } from 'node:os';
import { maxFds, openFds } from '../base/system-usage.js';
import { formatUsage } from './registry.js';
import type { CtlCommand } from './types.js';

const USAGE: CtlCommand['usage'] = [
  ['vm all', 'Show info of the node\'s runtime'],
  ['vm load', 'Show load of the machine'],
  ['vm memory', 'Show memory of the node\'s process'],
  ['vm io', 'Show open files of the node\'s process'],
];

export interface VmReadings {
  load(): readonly number[];
  memory(): NodeJS.MemoryUsage;
  files(): { max: number; active: number | undefined };
}

const REAL: VmReadings = { load: loadavg, memory: () => process.memoryUsage(), files: () => ({ max: maxFds(), active: openFds() }) };

/** The lines of one section, as EMQX pads them. */
export function vmLines(section: 'load' | 'memory' | 'io', r: VmReadings = REAL): string {
  if (section === 'load') {
    const [l1, l5, l15] = r.load();
    return [['load1', l1], ['load5', l5], ['load15', l15]].map(([n, v]) => `cpu/${String(n).padEnd(20)}: ${Math.round(Number(v) * 100) / 100}\n`).join('');
  }
  if (section === 'memory') {
    const m = r.memory();
    const rows: Array<[string, number]> = [
      ['total', m.rss],
      ['heap_total', m.heapTotal],
      ['heap_used', m.heapUsed],
      ['external', m.external],
      ['array_buffers', m.arrayBuffers],
    ];
    return rows.map(([n, v]) => `memory/${n.padEnd(17)}: ${v}\n`).join('');
  }
  const f = r.files();
  return `io/${'max_fds'.padEnd(21)}: ${f.max}\nio/${'active_fds'.padEnd(21)}: ${f.active ?? 'undefined'}\n`;
}

export function vmCommand(r: VmReadings = REAL): CtlCommand {
  return {
    name: 'vm',
    usage: USAGE,
    run(args) {
      const what = args[0] ?? 'all';
      if (args.length > 1) return { code: 1, output: formatUsage(USAGE) };
      if (what === 'all') return { code: 0, output: vmLines('load', r) + vmLines('memory', r) + vmLines('io', r) };
      if (what === 'load' || what === 'memory' || what === 'io') return { code: 0, output: vmLines(what, r) };
      return { code: 1, output: formatUsage(USAGE) };
    },
  };
}
