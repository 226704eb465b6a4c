// One Dist in its own process, driven over stdin/stdout, for integration tests and benchmarks.
//   node --import tsx test/helpers/dist-node.ts --name a1@127.0.0.2 --cookie c [--proto inet_tls
//     --cert f --key f --ca f] [--base 4370] [--ticktime 4000] [--cluster cl] [--no-gossip]
// stdout, one JSON object a line: {"event":"ready"|"nodeup"|"nodedown"|"refused",...} and
// {"id":N,"ok":true,"result":...} / {"id":N,"ok":false,"error":"..."} answers to stdin commands
// {"id":N,"cmd":"connect"|"disconnect"|"setPeers"|"nodes"|"info"|"send"|"call"|"flood"|"pingpong"|"connectLoop"|"stop",...}.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { ProtoDist } from '../../src/config/types.js';
import { createDist, type DistOptions } from '../../src/link/index.js';
import { out, serveCommands } from './command-loop.js';

const { values: a } = parseArgs({
  options: {
    name: { type: 'string' },
    cookie: { type: 'string', default: 'cookie' },
    cluster: { type: 'string', default: 'testcl' },
    proto: { type: 'string', default: 'inet_tcp' },
    base: { type: 'string', default: '4370' },
    ticktime: { type: 'string', default: '4000' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    'no-gossip': { type: 'boolean', default: false },
    'max-queue': { type: 'string' },
    'busy-poll-us': { type: 'string' },
    'log-level': { type: 'string', default: 'silent' },
  },
});

if (!a.name) {
  process.stderr.write('dist-node: --name is required\n');
  process.exit(2);
}
const proto = a.proto as ProtoDist;
let tls: DistOptions['tls'];
if (proto.endsWith('_tls')) {
  const files = { cert: readFileSync(a.cert!), key: readFileSync(a.key!), ca: readFileSync(a.ca!) };
  tls = { server: { ...files, requestCert: true, rejectUnauthorized: true }, client: { ...files, rejectUnauthorized: true }, warnings: [] };
}
const dist = createDist({
  self: a.name,
  cookie: a.cookie,
  clusterName: a.cluster,
  protoDist: proto,
  tls,
  basePort: Number(a.base),
  netTicktimeMs: Number(a.ticktime),
  meshGossip: !a['no-gossip'],
  maxQueueBytes: a['max-queue'] ? Number(a['max-queue']) : undefined,
  busyPollUs: a['busy-poll-us'] ? Number(a['busy-poll-us']) : undefined,
  logger: pino({ level: a['log-level'] }, pino.destination(2)),
});

let sunk = 0;
let sunkBytes = 0;
dist.handle('echo', (_from, p) => p);
dist.handle('sink', (_from, p) => {
  sunk++;
  sunkBytes += Buffer.isBuffer(p) || p instanceof Uint8Array ? p.length : 0;
});
dist.handle('sinkCount', () => ({ sunk, sunkBytes }));
dist.on('nodeup', (node, info) => out({ event: 'nodeup', node, info }));
// `at`: wall-clock ms with sub-ms precision, comparable across processes on this machine.
dist.on('nodedown', (node, reason) => out({ event: 'nodedown', node, reason, at: performance.timeOrigin + performance.now() }));
dist.on('refused', (node, reason, detail) => out({ event: 'refused', node, reason, detail }));

type Cmd = { id: number; cmd: string; node?: string; nodes?: string[]; channel?: string; payload?: unknown; size?: number; count?: number; timeoutMs?: number };

const pause = (): Promise<void> => new Promise((r) => setImmediate(r));

async function run(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'connect': {
      const t0 = performance.now();
      await dist.connect(c.node!, c.timeoutMs ? { timeoutMs: c.timeoutMs } : {});
      return performance.now() - t0;
    }
    case 'disconnect':
      dist.disconnect(c.node!);
      return null;
    case 'setPeers':
      dist.setPeers(c.nodes ?? []);
      return null;
    case 'nodes':
      return dist.nodes();
    case 'info':
      return dist.linkInfo(c.node!) ?? null;
    case 'send':
      return dist.send(c.node!, c.channel ?? 'sink', c.payload);
    case 'call':
      return dist.call(c.node!, c.channel ?? 'echo', c.payload, c.timeoutMs);
    case 'flood': {
      // One-way throughput: `count` messages of `size` bytes, then a call that queues behind them.
      const before = (await dist.call(c.node!, 'sinkCount', null)) as { sunk: number };
      const msg = Buffer.alloc(c.size!, 7);
      const t0 = performance.now();
      let sent = 0;
      // Yield to the event loop every ~2 MiB, as a real producer would, so writes overlap.
      const every = Math.max(1, Math.floor(2_097_152 / c.size!));
      while (sent < c.count!) {
        if (dist.send(c.node!, 'sink', msg)) sent++;
        else await new Promise((r) => setTimeout(r, 1));
        if (sent % every === 0) await pause();
      }
      // The count queues behind the flood; while the output queue is still full, calls are
      // refused (overload), so wait for room (bounded).
      let after: { sunk: number } | undefined;
      for (const until = Date.now() + 120_000; after === undefined; ) {
        try {
          after = (await dist.call(c.node!, 'sinkCount', null, 120_000)) as { sunk: number };
        } catch (e) {
          if (!/overload/.test((e as Error).message) || Date.now() > until) throw e;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      const ms = performance.now() - t0;
      if (after.sunk - before.sunk !== c.count) throw new Error(`peer got ${after.sunk - before.sunk} of ${c.count}`);
      return { ms, msgsPerSec: (c.count! * 1000) / ms, mbPerSec: (c.count! * c.size! * 1000) / ms / 1e6 };
    }
    case 'pingpong': {
      const payload = Buffer.alloc(c.size ?? 64, 1);
      const samples: number[] = [];
      for (let i = 0; i < c.count!; i++) {
        const t0 = performance.now();
        await dist.call(c.node!, 'echo', payload);
        samples.push((performance.now() - t0) * 1000);
      }
      return samples;
    }
    case 'connectLoop': {
      const samples: number[] = [];
      for (let i = 0; i < c.count!; i++) {
        dist.disconnect(c.node!);
        await new Promise((r) => setTimeout(r, 5));
        const t0 = performance.now();
        await dist.connect(c.node!);
        samples.push(performance.now() - t0);
      }
      return samples;
    }
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

await serveCommands(dist, run);
