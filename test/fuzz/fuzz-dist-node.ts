// The live target of the wire fuzz: one Dist in its own process, driven over stdin/stdout.
//   node --expose-gc --import tsx test/fuzz/fuzz-dist-node.ts --name a@127.0.91.1 --base 20000
//     [--handshake-timeout 1000] [--gossip]
// stdout, one JSON object a line: {"event":"ready","pid":N} then answers {"id":N,"ok":...} to
// stdin commands {"id":N,"cmd":"connect"|"call"|"stats"|"gc"|"stop",...}. Refusals and links
// are only counted (not printed): 100,000 events on stdout would load the machine more than
// the fuzz itself.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createDist } from '../../src/link/index.js';
import { serveCommands } from '../helpers/command-loop.js';

const { values: a } = parseArgs({
  options: {
    name: { type: 'string' },
    cookie: { type: 'string', default: 'fuzz-cookie' },
    base: { type: 'string', default: '4370' },
    'handshake-timeout': { type: 'string', default: '1000' },
    gossip: { type: 'boolean', default: false },
  },
});

if (!a.name) {
  process.stderr.write('fuzz-dist-node: --name is required\n');
  process.exit(2);
}

const dist = createDist({
  self: a.name,
  cookie: a.cookie,
  clusterName: 'fuzzcl',
  protoDist: 'inet_tcp',
  basePort: Number(a.base),
  netTicktimeMs: 4000,
  handshakeTimeoutMs: Number(a['handshake-timeout']),
  // Gossip would make the target dial names taken from fuzzed frames (and resolve them).
  meshGossip: a.gossip,
  logger: pino({ level: 'silent' }),
});

const stats = { ups: 0, downs: 0, refused: {} as Record<string, number>, downReasons: {} as Record<string, number> };
dist.handle('echo', (_from, p) => p);
dist.handle('sink', () => undefined);
dist.on('nodeup', () => stats.ups++);
dist.on('nodedown', (_node, reason) => {
  stats.downs++;
  stats.downReasons[reason] = (stats.downReasons[reason] ?? 0) + 1;
});
dist.on('refused', (_node, reason) => {
  stats.refused[reason] = (stats.refused[reason] ?? 0) + 1;
});

type Cmd = { id: number; cmd: string; node?: string; payload?: unknown; timeoutMs?: number };

async function run(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'connect':
      await dist.connect(c.node!);
      return dist.nodes();
    case 'call': {
      const t0 = performance.now();
      const v = await dist.call(c.node!, 'echo', c.payload, c.timeoutMs ?? 5000);
      return { value: v, ms: performance.now() - t0 };
    }
    case 'stats':
      return { ...stats, nodes: dist.nodes() };
    case 'gc': {
      // Only with --expose-gc: lets "back near baseline" be measured without waiting for V8.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the node with --expose-gc');
      gc();
      const m = process.memoryUsage();
      return { heapUsed: m.heapUsed, external: m.external };
    }
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

await serveCommands(dist, run);
