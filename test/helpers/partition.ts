// Network partitions between loopback addresses with iptables, for integration tests.
// Each Partition owns one dedicated chain (random name), jumped to from OUTPUT; packets between
// the two groups are dropped (not rejected), so established links go silent like a real split.
// Always call remove() (register it with t.after): it deletes the jump and the chain.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function ipt(args: readonly string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('iptables', ['-w', '5', ...args], { timeout: 10_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}` }));
  });
}

function assertLoopback(ip: string): void {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) throw new Error(`partition: ${ip} is not a 127.0.0.0/8 address; only loopback may be touched`);
}

/** Why partitions cannot be made here (for skipOrFail), or undefined when they can. */
export async function partitionUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'iptables partitions need root';
  const r = await ipt(['-S', 'OUTPUT']);
  return r.ok ? undefined : `iptables is not usable here: ${r.out.trim().split('\n')[0]}`;
}

export class Partition {
  readonly chain = `EMQXT-${randomBytes(4).toString('hex')}`;
  private installed = false;

  /** Creates the chain and its jump from OUTPUT (no rules yet: nothing is blocked). */
  async install(): Promise<void> {
    const steps = [
      ['-N', this.chain],
      ['-I', 'OUTPUT', '-o', 'lo', '-j', this.chain],
    ];
    for (const s of steps) {
      const r = await ipt(s);
      if (!r.ok) throw new Error(`iptables ${s.join(' ')}: ${r.out.trim()}`);
      this.installed = true;
    }
  }

  /** Drops every packet between any address of `a` and any of `b`, both directions. */
  async split(a: readonly string[], b: readonly string[]): Promise<void> {
    for (const x of [...a, ...b]) assertLoopback(x);
    for (const x of a) {
      for (const y of b) {
        for (const [s, d] of [[x, y], [y, x]] as const) {
          const r = await ipt(['-A', this.chain, '-s', s, '-d', d, '-j', 'DROP']);
          if (!r.ok) throw new Error(`iptables: ${r.out.trim()}`);
        }
      }
    }
  }

  /** Drops connection attempts (SYNs) from `from` to `to`'s TCP `port`, one way only. */
  async dropSyn(from: string, to: string, port: number): Promise<void> {
    assertLoopback(from);
    assertLoopback(to);
    const r = await ipt(['-A', this.chain, '-s', from, '-d', to, '-p', 'tcp', '--dport', String(port), '--syn', '-j', 'DROP']);
    if (!r.ok) throw new Error(`iptables: ${r.out.trim()}`);
  }

  /** Lets everything through again. */
  async heal(): Promise<void> {
    await ipt(['-F', this.chain]);
  }

  /** Deletes the jump and the chain; safe to call twice or after a failed install. */
  async remove(): Promise<void> {
    if (!this.installed) return;
    this.installed = false;
    for (let i = 0; i < 5; i++) {
      const r = await ipt(['-D', 'OUTPUT', '-o', 'lo', '-j', this.chain]);
      if (!r.ok) break;
    }
    await ipt(['-F', this.chain]);
    await ipt(['-X', this.chain]);
  }
}
