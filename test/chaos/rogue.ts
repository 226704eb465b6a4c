// The rogue: a node with a wrong cookie that keeps asking each member in turn to let it join, for the
// whole run. Every attempt must fail; the members must log a refusal for it and never list it.
import type { ChaosCluster } from './cluster.js';
import type { Rng } from './prng.js';

export class Rogue {
  attempts = 0;
  readonly accepted: string[] = [];
  /** Members it has tried to join through. */
  readonly targeted = new Set<string>();
  /** Why its joins failed, as `cluster join` said (authentication_failed, or node_down for a member that is down). */
  readonly reasons: Record<string, number> = {};
  private round: string[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly rng: Rng,
    private readonly maxAttempts: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const rogue = this.cluster.rogue!;
    while (!this.stopping && this.attempts < this.maxAttempts) {
      // Every member in turn (a fresh shuffle per round), so each one gets to refuse it early.
      if (this.round.length === 0) this.round = this.rng.shuffle(this.cluster.names);
      const target = this.round.shift()!;
      this.targeted.add(target);
      this.attempts++;
      const r = await rogue.ctl(['cluster', 'join', target], { timeoutMs: 30_000 });
      if (r.code === 0) this.accepted.push(`${target}: ${r.stdout.trim()}`);
      else {
        const reason = /Failed to join the cluster: \{?(\w+)/.exec(r.stdout)?.[1] ?? `exit ${r.code}`;
        this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
      }
      await new Promise((res) => setTimeout(res, this.rng.int(500, 1500)));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
}

/** Refusals of the rogue in a member's JSON log, and any other line naming it (should be none). */
export function rogueInLog(logText: string, rogueName: string, rogueIp: string): { refusals: number; other: string[] } {
  let refusals = 0;
  const other: string[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes(rogueName) && !line.includes(rogueIp)) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      other.push(line);
      continue;
    }
    if (rec.msg === 'link refused' && rec.reason === 'authentication_failed') refusals++;
    else other.push(line);
  }
  return { refusals, other };
}
