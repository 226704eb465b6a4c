// The chaos suite's cluster: five real members on 127.0.90.x plus a rogue node with a wrong cookie,
// started through the real launchers. Knows each member's expected PID, which are paused, and how
// to undo everything (continue, delete the iptables chain, stop by PID) whatever state it is in.
import { readFileSync } from 'node:fs';
import { allocDistBase, createTestNode, type RunResult, type TestNode } from '../helpers/launcher.js';
import { Partition } from '../helpers/partition.js';

/** Members at 127.0.90.(slot+1..slot+5), the rogue at 127.0.90.(slot+10): another slot lets a second run share the machine. */
export const DEFAULT_SLOT = 10;
const memberIps = (slot: number): string[] => [1, 2, 3, 4, 5].map((i) => `127.0.90.${slot + i}`);
export const BASE_CONF = 'cluster.discovery_strategy = manual\n';

export interface Status {
  readonly running_nodes: string[];
  readonly stopped_nodes: string[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export class ChaosCluster {
  readonly names: readonly string[];
  readonly rogueIp: string;
  readonly rogueName: string;
  readonly partition = new Partition();
  readonly paused = new Set<number>();
  /** The PID each member must have; a different or dead one is a death the schedule did not cause. */
  readonly expectedPid: (number | undefined)[] = [];
  nodes: TestNode[] = [];
  rogue: TestNode | undefined;
  private cleaned = false;

  constructor(
    readonly tag: string,
    slot = DEFAULT_SLOT,
  ) {
    if (!Number.isInteger(slot) || slot < 0 || slot > 240) throw new Error(`chaos: slot ${slot} is not an integer in 0..240`);
    this.names = memberIps(slot).map((ip, i) => `${tag}${i + 1}@${ip}`);
    this.rogueIp = `127.0.90.${slot + 10}`;
    this.rogueName = `rogue@${this.rogueIp}`;
  }

  async start(): Promise<void> {
    const base = await allocDistBase([...this.names, this.rogueName], this.names[0]!.split('@')[1]!);
    for (const name of this.names) this.nodes.push(await createTestNode(undefined, { name, distBasePort: base, conf: BASE_CONF }));
    // Same cluster name and port base, another cookie: it can reach every member, never prove itself.
    this.rogue = await createTestNode(undefined, { name: this.rogueName, distBasePort: base, conf: BASE_CONF, cookie: 'rogue-wrong-cookie' });
    await this.partition.install();
    await Promise.all([...this.nodes, this.rogue].map((n) => n.startOk()));
    this.nodes.forEach((n, i) => (this.expectedPid[i] = n.pid));
    for (const n of this.nodes.slice(1)) {
      const r = await n.ctl(['cluster', 'join', this.names[0]!]);
      if (r.code !== 0) throw new Error(`cluster join from ${n.name} failed: ${r.stdout}${r.stderr}`);
    }
  }

  ctl(i: number, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
    return this.nodes[i]!.ctl(args, { timeoutMs });
  }

  async status(i: number): Promise<Status | undefined> {
    const r = await this.ctl(i, ['cluster', 'status', '--json'], 10_000);
    if (r.code !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as Status;
    } catch {
      return undefined;
    }
  }

  async admins(i: number): Promise<Set<string> | undefined> {
    const r = await this.ctl(i, ['admins', 'list'], 20_000);
    if (r.code !== 0) return undefined;
    return new Set([...r.stdout.matchAll(/^Username: (\S+), /gm)].map((m) => m[1]!));
  }

  /** Members whose process is not the one we expect (died, or replaced behind our back). */
  unexpectedDeaths(): string[] {
    const out: string[] = [];
    this.nodes.forEach((n, i) => {
      const want = this.expectedPid[i];
      if (want === undefined || n.pid !== want || !alive(want)) out.push(`${n.name} (expected pid ${want}, now ${n.pid}${n.pid !== undefined && alive(n.pid) ? ' alive' : ' gone'})`);
    });
    if (this.rogue?.pid !== undefined && !alive(this.rogue.pid)) out.push(`${this.rogueName} (pid ${this.rogue.pid} gone)`);
    return out;
  }

  signal(i: number, sig: NodeJS.Signals): void {
    this.nodes[i]!.kill(sig);
  }

  /** Undoes every fault and stops every process by PID; safe to call twice, never throws. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const i of this.paused) {
      try {
        this.signal(i, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    this.paused.clear();
    await this.partition.remove().catch(() => undefined);
    await Promise.all([...this.nodes, ...(this.rogue ? [this.rogue] : [])].map((n) => n.cleanup().catch(() => undefined)));
  }
}
