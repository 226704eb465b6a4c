// Reproduction (found by the chaos suite: `protocol_error` link drops right after a join): when the
// last joiner dials every member while members that just heard of it dial it back, the joiner
// keeps the incoming link ("replaced by a new link from the same node") and then drops each new
// incoming link from the same peers on its first frame:
//   "reason":"protocol_error","detail":"frame of 301989888 bytes exceeds the limit of 67108864 bytes"
// (0x12000000: the stream is read out of step), reconnecting every few ms until it settles.
// No partitions, no faults. Run: npx tsx test/chaos/repro/join-frame-desync.ts [rounds]
import { allocDistBase, createTestNode, type TestNode } from '../../helpers/launcher.js';

const rounds = Number(process.argv[2] ?? 1);
let total = 0;
for (let k = 1; k <= rounds; k++) {
  const names = [1, 2, 3, 4, 5].map((i) => `j${i}@127.0.90.${50 + i}`);
  const nodes: TestNode[] = [];
  try {
    const base = await allocDistBase(names);
    for (const name of names) nodes.push(await createTestNode(undefined, { name, distBasePort: base, conf: 'cluster.discovery_strategy = manual' }));
    await Promise.all(nodes.map((n) => n.startOk()));
    for (const n of nodes.slice(1)) await n.ctl(['cluster', 'join', names[0]!]);
    await new Promise((r) => setTimeout(r, 2000));
    const counts = nodes.map((n) => (n.logText().match(/"reason":"protocol_error"/g) ?? []).length);
    total += counts.reduce((a, b) => a + b, 0);
    const sample = nodes.map((n) => n.logText().split('\n').find((l) => l.includes('protocol_error'))).find((l) => l !== undefined);
    console.log(`round ${k}: protocol_error link drops per node ${JSON.stringify(counts)}${sample ? `\n  e.g. ${sample}` : ''}`);
  } finally {
    await Promise.all(nodes.map((n) => n.cleanup()));
  }
}
console.log(`${total} protocol_error link drops in ${rounds} round(s)`);
