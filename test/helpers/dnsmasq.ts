// A real dnsmasq (Debian dnsmasq-base) in the foreground on 127.0.0.1 and a free port, serving
// A/AAAA records from a hosts file and SRV records from the command line. Stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './launcher.js';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DNSMASQ = '/usr/sbin/dnsmasq';

export interface SrvRecord {
  readonly name: string;
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface DnsmasqOptions {
  /** [address, name] pairs: loopback addresses only. */
  readonly hosts: ReadonlyArray<readonly [address: string, name: string]>;
  readonly srv?: readonly SrvRecord[];
  /** Names under this domain that have no record get NXDOMAIN (not REFUSED). */
  readonly domain?: string;
}

export interface Dnsmasq {
  readonly pid: number;
  readonly port: number;
  /** `127.0.0.1:<port>`, the form cluster.dns.server takes. */
  readonly server: string;
  /** Rewrites the hosts file and makes dnsmasq re-read it (SIGHUP); resolves once it answers. */
  setHosts(hosts: DnsmasqOptions['hosts'], probe?: { name: string; expect: number }): Promise<void>;
  stop(): Promise<void>;
}

async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free UDP+TCP port on 127.0.0.1 after 20 attempts');
}

function hostsText(hosts: DnsmasqOptions['hosts']): string {
  return hosts.map(([a, n]) => `${a} ${n}\n`).join('');
}

export async function stopProcess(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const t = sleep(timeoutMs, 'timeout' as const);
  if ((await Promise.race([exited, t])) === 'timeout' && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

export async function startDnsmasq(opts: DnsmasqOptions): Promise<Dnsmasq> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsmasq-'));
  const hostsFile = join(dir, 'hosts');
  await writeFile(hostsFile, hostsText(opts.hosts), { mode: 0o644 });
  const port = await freeUdpTcpPort();
  const args = [
    '--no-daemon', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address', '127.0.0.1',
    '--port', String(port), '--addn-hosts', hostsFile, '--pid-file=', '--log-facility=-', '--cache-size=0',
    ...(opts.domain ? [`--local=/${opts.domain}/`] : []),
    ...(opts.srv ?? []).map((s) => `--srv-host=${s.name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 0}`),
  ];
  const child = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned) throw new Error(`cannot start ${DNSMASQ}: ${spawned.message}`);
  const server = `127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };

  // Ready when it answers a query (any answer, even NXDOMAIN), bounded.
  const probe = async (name: string, expect?: number): Promise<boolean> => {
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([server]);
    try {
      const got = await r.resolve4(name);
      return expect === undefined || got.length === expect;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return expect === undefined ? code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EREFUSED' : expect === 0 && (code === 'ENOTFOUND' || code === 'ENODATA');
    }
  };
  const waitFor = async (name: string, expect?: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited (${child.exitCode}): ${stderr}`);
      if (await probe(name, expect)) return;
      await sleep(50);
    }
    throw new Error(`dnsmasq on ${server} did not answer within 5 s: ${stderr}`);
  };
  try {
    await waitFor(opts.hosts[0]?.[1] ?? 'ready.invalid');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid!,
    port,
    server,
    async setHosts(hosts, check) {
      await writeFile(hostsFile, hostsText(hosts));
      process.kill(child.pid!, 'SIGHUP');
      if (check) await waitFor(check.name, check.expect);
    },
    stop,
  };
}
