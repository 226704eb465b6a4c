// Randomized protocol test: joins, leaves, force-leaves, writes and partitions in random order on
// five in-process nodes; after the network heals, the nodes of each cluster agree on the members,
// all of them running, and hold the same data. Tombstones are collected as soon as allowed, so
// collection races every operation; only a node that was force-left may say it was removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim, until } from './support/sim.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const NAMES = ['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => `${n}@127.0.0.1`);

function converged(sim: Sim): string | undefined {
  const byCluster = new Map<string, string[]>();
  for (const n of NAMES) {
    const id = sim.get(n).parts.cluster.currentView().clusterId;
    byCluster.set(id, [...(byCluster.get(id) ?? []), n]);
  }
  for (const [, group] of byCluster) {
    const want = JSON.stringify([...group].sort());
    for (const n of group) {
      const c = sim.get(n).parts.cluster;
      if (JSON.stringify(c.members()) !== want) return `${n} has members ${JSON.stringify(c.members())}, cluster is ${want}`;
      const st = c.status();
      if (JSON.stringify(st.running) !== want || st.stopped.length) return `${n} status ${JSON.stringify(st)}`;
    }
  }
  return undefined;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`random membership operations and partitions converge after healing (seed ${seed})`, async (t) => {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const sim = new Sim();
    t.after(() => sim.stopAll());
    for (const n of NAMES) await sim.start(n, { tombstoneRetentionMs: 0, tombstoneGcMs: 15 });
    const log: string[] = [];
    const forceLeft = new Set<string>();
    for (let step = 0; step < 40; step++) {
      const n = pick(NAMES);
      const roll = r();
      let res: { code: number; output: string } | undefined;
      if (roll < 0.35) res = await sim.run(n, 'cluster', 'join', pick(NAMES));
      else if (roll < 0.45) res = await sim.run(n, 'cluster', 'leave');
      else if (roll < 0.55) {
        const target = pick(NAMES);
        res = await sim.run(n, 'cluster', 'force-leave', target);
        if (res.code === 0) forceLeft.add(target);
      }
      else if (roll < 0.8) await sim.get(n).parts.db.write('t', `k${Math.floor(r() * 10)}`, `${n}:${step}`);
      else if (roll < 0.9) {
        const cut = NAMES.filter(() => r() < 0.5);
        sim.net.partition(cut, NAMES.filter((x) => !cut.includes(x)));
        log.push(`partition ${cut.join(',')}`);
      } else {
        sim.net.heal();
        log.push('heal');
      }
      if (res) log.push(`${n}: ${res.output.split('\n')[0]}`);
      await new Promise((res2) => setTimeout(res2, 5));
    }
    sim.net.heal();
    let why: string | undefined;
    await until('convergence', () => (why = converged(sim)) === undefined, 8000).catch(() => {
      assert.fail(`not converged: ${why}\n${log.join('\n')}`);
    });
    for (const n of NAMES) {
      const removed = sim.get(n).parts.cluster.removedFrom();
      if (removed) assert.ok(forceLeft.has(n), `${n} says it was removed by ${removed.by} but was never force-left\n${log.join('\n')}`);
    }
    // Same data within each cluster (anti-entropy after healing).
    await until('same data in each cluster', () => {
      for (const a of NAMES) {
        for (const b of NAMES) {
          const ca = sim.get(a).parts;
          const cb = sim.get(b).parts;
          if (ca.cluster.currentView().clusterId !== cb.cluster.currentView().clusterId) continue;
          if (JSON.stringify(ca.db.list('t')) !== JSON.stringify(cb.db.list('t'))) return false;
        }
      }
      return true;
    }, 5000);
  });
}
