// The loop against an in-memory world of nodes (the membership layer is not under test here):
// clusters are sets of node names; join moves a node into the target's set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Autocluster, type AutoclusterHost, type RoundResult } from '../../src/discovery/autocluster.js';
import { staticStrategy } from '../../src/discovery/static.js';
import type { DiscoveryStrategy } from '../../src/discovery/types.js';

const logger = pino({ level: 'silent' });
const fast = { fastMs: 20, slowMs: 200, firstDelayMs: 20, jitter: 0.5 };

class World {
  readonly clusterOf = new Map<string, Set<string>>();
  readonly loops = new Map<string, Autocluster>();
  readonly joins: Array<[string, string]> = [];
  readonly down = new Set<string>();

  add(node: string, startedAt: number, strategy: DiscoveryStrategy, opts = fast): Autocluster {
    this.clusterOf.set(node, new Set([node]));
    const host: AutoclusterHost = {
      self: node,
      startedAt,
      members: () => [...this.clusterOf.get(node)!],
      probe: async (n) => (this.down.has(n) || !this.loops.has(n) ? undefined : this.loops.get(n)!.info()),
      join: async (target) => {
        if (this.down.has(target)) throw new Error(`node_down ${target}`);
        this.leave(node);
        const c = this.clusterOf.get(target)!;
        c.add(node);
        this.clusterOf.set(node, c);
        this.joins.push([node, target]);
      },
    };
    const loop = new Autocluster(strategy, host, logger, opts);
    this.loops.set(node, loop);
    return loop;
  }

  leave(node: string): void {
    this.clusterOf.get(node)!.delete(node);
    this.clusterOf.set(node, new Set([node]));
  }

  clusters(): string[][] {
    return [...new Set(this.clusterOf.values())].map((s) => [...s].sort()).sort();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.loops.values()].map((l) => l.stop()));
  }
}

/** Resolves when `check` holds after some round of any loop; bounded. */
function settle(world: World, check: () => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs: Array<() => void> = [];
    const done = (err?: Error): void => {
      clearTimeout(timer);
      offs.forEach((o) => o());
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`not settled in ${timeoutMs} ms: ${JSON.stringify(world.clusters())}`)), timeoutMs);
    if (check()) return done();
    for (const l of world.loops.values()) offs.push(l.onRound(() => check() && done()));
  });
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `emqx${i + 1}@127.0.0.${i + 1}`);

test('five nodes with the same seeds form exactly one cluster, around the oldest', async (t) => {
  const world = new World();
  t.after(() => world.stop());
  const all = names(5);
  // Boot order scrambled: emqx3 is the oldest.
  const boot = [3, 1, 4, 5, 2];
  all.forEach((n, i) => world.add(n, 1000 + boot[i]! * 10, staticStrategy(all)));
  for (const l of world.loops.values()) l.start();
  await settle(world, () => world.clusters().length === 1);
  assert.deepEqual(world.clusters(), [all]);
  assert.ok(world.joins.every(([, target]) => target === 'emqx2@127.0.0.2'), `everybody joined the oldest: ${JSON.stringify(world.joins)}`);
});

test('a node that left is not rejoined until discovery is enabled again', async (t) => {
  const world = new World();
  t.after(() => world.stop());
  const all = names(3);
  all.forEach((n, i) => world.add(n, 1000 + i, staticStrategy(all)));
  for (const l of world.loops.values()) l.start();
  await settle(world, () => world.clusters().length === 1);

  // Manual leave of the OLDEST node: the others must not follow it out, and it must not come back.
  const [oldest] = all as [string];
  world.leave(oldest);
  assert.equal(await world.loops.get(oldest)!.disable(), true);
  // Let every loop run several rounds.
  let rounds = 0;
  const offs = [...world.loops.values()].map((l) => l.onRound(() => void rounds++));
  await settle(world, () => rounds >= 10);
  offs.forEach((o) => o());
  assert.ok(rounds >= 10);
  assert.deepEqual(world.clusters(), [[oldest], all.slice(1)]);

  const joinsBefore = world.joins.length;
  world.loops.get(oldest)!.enable();
  // The oldest is a live participant again, but alone: it joins the larger cluster, which stays put.
  await settle(world, () => world.clusters().length === 1);
  assert.deepEqual(world.clusters(), [all]);
  assert.deepEqual(world.joins.slice(joinsBefore).map(([who]) => who), [oldest]);
});

test('an unreachable discovered node is waited for at the fast pace, then joined once it answers', async (t) => {
  const world = new World();
  t.after(() => world.stop());
  const all = names(2);
  const a = world.add(all[0]!, 1, staticStrategy(all));
  world.add(all[1]!, 2, staticStrategy(all));
  world.down.add(all[0]!);
  const results: RoundResult[] = [];
  const b = world.loops.get(all[1]!)!;
  b.onRound((r) => results.push(r));
  b.start();
  a.start();
  await settle(world, () => results.length >= 3);
  assert.ok(results.every((r) => r.decision?.kind === 'stay' && !r.decision.stable && r.decision.unreachable.includes(all[0]!)));
  world.down.delete(all[0]!);
  await settle(world, () => world.clusters().length === 1);
});

test('with a lock, the whole round runs inside it, and a discovery error is retried', async (t) => {
  const world = new World();
  t.after(() => world.stop());
  let inside = 0;
  let maxInside = 0;
  let failNext = 2;
  const all = names(4);
  const locked = (): DiscoveryStrategy => {
    const s = staticStrategy(all);
    return {
      ...s,
      discover: async () => {
        if (failNext > 0) {
          failNext--;
          throw new Error('backend down');
        }
        return s.discover();
      },
      lock: async <T,>(fn: () => Promise<T>): Promise<T> => {
        while (inside > 0) await new Promise((r) => setImmediate(r));
        inside++;
        maxInside = Math.max(maxInside, inside);
        try {
          return await fn();
        } finally {
          inside--;
        }
      },
    };
  };
  const errors: string[] = [];
  all.forEach((n, i) => world.add(n, 100 - i, locked()).onRound((r) => r.error && errors.push(r.error)));
  for (const l of world.loops.values()) l.start();
  await settle(world, () => world.clusters().length === 1);
  assert.equal(maxInside, 1);
  assert.deepEqual(errors, ['backend down', 'backend down']);
});

test('register is called every round while enabled, and unregister on disable', async () => {
  const calls: string[] = [];
  const s: DiscoveryStrategy = {
    name: 'etcd',
    discover: async () => [],
    register: async () => { calls.push('register'); },
    unregister: async () => { calls.push('unregister'); },
    close: async () => {},
  };
  const host: AutoclusterHost = { self: 'a@127.0.0.1', startedAt: 1, members: () => ['a@127.0.0.1'], probe: async () => undefined, join: async () => {} };
  const loop = new Autocluster(s, host, logger, fast);
  const r = await loop.runOnce();
  assert.equal(r.decision?.kind, 'stay');
  assert.deepEqual(calls, ['register']);
  assert.equal(await loop.disable(), true);
  assert.equal(await loop.disable(), false);
  assert.deepEqual(calls, ['register', 'unregister', 'unregister']);
  assert.deepEqual(loop.info(), { startedAt: 1, discovery: false, clusterSize: 1 });
});

test('a lone node keeps the fast pace: an older node registering later is joined quickly', async (t) => {
  const world = new World();
  t.after(() => world.stop());
  const [older, younger] = names(2) as [string, string];
  const registered = new Set<string>();
  const registry = (self: string): DiscoveryStrategy => ({
    name: 'etcd',
    discover: async () => [...registered],
    register: async () => void registered.add(self),
    close: async () => {},
  });
  const opts = { ...fast, slowMs: 60_000 };
  world.add(younger, 2000, registry(younger), opts).start();
  await settle(world, () => registered.has(younger));
  // Only now does the older node show up (it booted first, but was slower to register).
  world.add(older, 1000, registry(older), opts).start();
  await settle(world, () => world.clusters().length === 1, 3000);
  assert.deepEqual(world.joins, [[younger, older]]);
});
