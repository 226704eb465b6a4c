// The fault schedule: pure, decided entirely by the seed (targets, shapes, durations), so a run is
// replayed by its seed even though the timing of the writes around it varies.
import type { Rng } from './prng.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'force-leave', 'reload'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export const PARTITION_SHAPES = ['isolate', 'split', 'bridge', 'ring'] as const;
export type PartitionShape = (typeof PARTITION_SHAPES)[number];

export type Fault =
  | { readonly kind: 'kill'; readonly node: number; readonly downMs: number }
  | { readonly kind: 'pause'; readonly node: number; readonly pauseMs: number }
  | { readonly kind: 'partition'; readonly shape: PartitionShape; readonly blocked: readonly (readonly [number, number])[]; readonly holdMs: number; readonly groups: string }
  | { readonly kind: 'force-leave'; readonly node: number; readonly operator: number; readonly outMs: number; readonly isolated: boolean }
  | { readonly kind: 'reload'; readonly node: number; readonly autoclean: string; readonly trigger: ReloadTrigger };

/** How a reload is asked for: SIGHUP, `emqx ctl conf reload`, or only saving the file (the watcher). */
export const RELOAD_TRIGGERS = ['sighup', 'ctl', 'file'] as const;
export type ReloadTrigger = (typeof RELOAD_TRIGGERS)[number];

/** Pairs of node indices that cannot talk to each other for a shape over `order` (a permutation). */
export function blockedPairs(shape: PartitionShape, order: readonly number[]): { blocked: [number, number][]; groups: string } {
  const n = order.length;
  const cross = (a: readonly number[], b: readonly number[]): [number, number][] => a.flatMap((x) => b.map((y): [number, number] => [x, y]));
  const fmt = (...gs: (readonly number[])[]): string => gs.map((g) => g.join(',')).join(' | ');
  switch (shape) {
    case 'isolate':
      return { blocked: cross(order.slice(0, 1), order.slice(1)), groups: fmt(order.slice(0, 1), order.slice(1)) };
    case 'split':
      return { blocked: cross(order.slice(0, 2), order.slice(2)), groups: fmt(order.slice(0, 2), order.slice(2)) };
    case 'bridge': {
      // order[0] reaches both sides; the sides cannot reach each other.
      const a = order.slice(1, 1 + Math.floor((n - 1) / 2));
      const b = order.slice(1 + a.length);
      return { blocked: cross(a, b), groups: `${fmt(a)} <${order[0]}> ${fmt(b)}` };
    }
    case 'ring': {
      // Each node reaches only its two neighbours in the ring `order`.
      const blocked: [number, number][] = [];
      for (let i = 0; i < n; i++) {
        for (let j = i + 2; j < n; j++) {
          if (i === 0 && j === n - 1) continue;
          blocked.push([order[i]!, order[j]!]);
        }
      }
      return { blocked, groups: `ring ${order.join('-')}` };
    }
  }
}

/**
 * The i-th fault of a schedule over `nodes` members. Kinds come in rounds: each round is a fresh
 * shuffle of every kind, so any five consecutive rounds' worth of faults covers them all and a
 * short run still exercises every kind.
 */
export function makeSchedule(rng: Rng, nodes: number): () => Fault {
  let round: FaultKind[] = [];
  const members = [...Array(nodes).keys()];
  return () => {
    if (round.length === 0) round = rng.shuffle(FAULT_KINDS);
    const kind = round.shift()!;
    const node = rng.int(0, nodes - 1);
    switch (kind) {
      case 'kill':
        return { kind, node, downMs: rng.int(200, 3000) };
      case 'pause':
        // 1–6 s: a third of the range is longer than the default 4 s ticktime (the link drops).
        return { kind, node, pauseMs: rng.int(1000, 6000) };
      case 'partition': {
        const shape = rng.pick(PARTITION_SHAPES);
        const { blocked, groups } = blockedPairs(shape, rng.shuffle(members));
        return { kind, shape, blocked, groups, holdMs: rng.int(2000, 9000) };
      }
      case 'force-leave':
        // isolated: the member is cut off first, so it is removed while unreachable (a tombstone)
        // and learns it when the network heals (the sticky removal).
        return { kind, node, operator: rng.pick(members.filter((m) => m !== node)), outMs: rng.int(500, 3000), isolated: rng.next() < 0.5 };
      case 'reload':
        return { kind, node, autoclean: rng.pick(['24h', '25h', '2d']), trigger: rng.pick(RELOAD_TRIGGERS) };
    }
  };
}

export function describeFault(f: Fault, names: readonly string[]): string {
  switch (f.kind) {
    case 'kill':
      return `kill -9 ${names[f.node]}, restart after ${f.downMs} ms`;
    case 'pause':
      return `SIGSTOP ${names[f.node]} for ${f.pauseMs} ms`;
    case 'partition':
      return `partition ${f.shape} (${f.groups}) for ${f.holdMs} ms`;
    case 'force-leave':
      return `force-leave ${names[f.node]}${f.isolated ? ' (cut off first)' : ''} from ${names[f.operator]}, rejoin after ${f.outMs} ms`;
    case 'reload':
      return `reload ${names[f.node]} (${f.trigger === 'sighup' ? 'SIGHUP' : f.trigger === 'ctl' ? 'ctl conf reload' : 'file saved'}, cluster.autoclean = ${f.autoclean})`;
  }
}
