// A real etcd (Debian etcd-server) on loopback ports with its own temp data dir, optionally with
// TLS (server cert + client-cert auth). Stopped by its PID; the data dir is removed.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { freePort } from './launcher.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from './dnsmasq.js';

export const ETCD = '/usr/bin/etcd';

export interface EtcdTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The client's own certificate, for the readiness probe (client-cert auth is on). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface EtcdServer {
  readonly pid: number;
  /** The client URL, the form cluster.etcd.server takes. */
  readonly url: string;
  stop(): Promise<void>;
}

function healthy(url: string, tls?: EtcdTls): Promise<boolean> {
  return new Promise((resolve) => {
    const opts = tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile), timeout: 500 } : { timeout: 500 };
    const req = (tls ? httpsGet : httpGet)(`${url}/health`, opts, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startEtcd(opts: { tls?: EtcdTls } = {}): Promise<EtcdServer> {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const scheme = opts.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `test=${peer}`, '--initial-cluster-state', 'new',
    '--log-level', 'warn', '--logger', 'zap',
    ...(opts.tls ? ['--cert-file', opts.tls.certFile, '--key-file', opts.tls.keyFile, '--trusted-ca-file', opts.tls.caFile, '--client-cert-auth'] : []),
  ];
  const child = spawn(ETCD, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned) throw new Error(`cannot start ${ETCD}: ${spawned.message}`);
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`etcd exited (${child.exitCode}): ${stderr}`);
    }
    if (await healthy(url, opts.tls)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd at ${url} not healthy within 15 s: ${stderr}`);
    }
    await sleep(100);
  }
  return { pid: child.pid!, url, stop };
}
