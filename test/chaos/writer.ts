// The client: writes one admins record at a time to a random member and remembers which writes
// were acknowledged (exit 0 and `ok`). Unacknowledged writes may or may not have landed; only
// acknowledged ones are checked.
import type { ChaosCluster } from './cluster.js';
import type { Rng } from './prng.js';

export class Writer {
  readonly acked: string[] = [];
  failed = 0;
  private seq = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Members not to write to (a force-left member: its own writes are replaced when it rejoins). */
  readonly excluded = new Set<number>();
  private current: number | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly rng: Rng,
    private readonly prefix: string,
    private readonly maxWrites: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping && this.seq < this.maxWrites) {
      const choices = this.cluster.nodes.map((_, i) => i).filter((i) => !this.excluded.has(i));
      const i = this.rng.pick(choices);
      const user = `${this.prefix}${++this.seq}`;
      this.current = i;
      const r = await this.cluster.ctl(i, ['admins', 'add', user, 'passw0rd!'], 30_000);
      this.current = undefined;
      for (const w of this.idleWaiters.splice(0)) w();
      if (r.code === 0 && r.stdout === 'ok\n') this.acked.push(user);
      else this.failed++;
      // Pace the client so the cluster is busy but not saturated on a 2-core machine.
      await new Promise((res) => setTimeout(res, this.rng.int(20, 150)));
    }
  }

  /** Resolves once no write is in flight to member i (after excluding it). */
  async idleFor(i: number): Promise<void> {
    while (this.current === i) await new Promise<void>((res) => this.idleWaiters.push(res));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
}
