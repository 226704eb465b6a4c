// A real HAProxy (Debian's haproxy) in front of a node, as operators run EMQX behind one: TCP
// frontends on loopback passing connections to the node's listeners with a PROXY protocol
// header (v1, v2, v2 with the verified client certificate's CN), optionally terminating TLS.
// Runs in the foreground (-db) and is stopped by its PID.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from './dnsmasq.js';
import { connect } from 'node:net';
import { freePort } from './launcher.js';

/** Whether something accepts connections on 127.0.0.1:port (a bind test would race haproxy's own bind). */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export const HAPROXY = '/usr/sbin/haproxy';

export const haproxyInstalled = (): boolean => existsSync(HAPROXY);

export interface Frontend {
  /** The node's port the connections go to. */
  readonly to: number;
  /** `send-proxy`, `send-proxy-v2`, `send-proxy-v2-ssl-cn` on the server line; none: the connection as it is. */
  readonly send?: 'send-proxy' | 'send-proxy-v2' | 'send-proxy-v2-ssl-cn';
  /** HTTP mode (a reverse proxy for WebSocket), with these `http-request` lines. */
  readonly http?: readonly string[];
  /** TLS terminated here: the server certificate and key in one PEM, and the CA that client certificates must chain to. */
  readonly tls?: { readonly pem: string; readonly ca: string };
}

export interface Haproxy {
  /** The frontends' ports, in the order given. */
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export async function startHaproxy(frontends: readonly Frontend[]): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'haproxy-'));
  const ports: number[] = [];
  for (let i = 0; i < frontends.length; i++) ports.push(await freePort());
  const cfg = [
    'global',
    '  maxconn 256',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...frontends.flatMap((f, i) => [
      `frontend f${i}`,
      `  bind 127.0.0.1:${ports[i]}${f.tls ? ` ssl crt ${f.tls.pem} ca-file ${f.tls.ca} verify required` : ''}`,
      ...(f.http ? ['  mode http', ...f.http.map((l) => `  http-request ${l}`)] : []),
      `  default_backend b${i}`,
      `backend b${i}`,
      ...(f.http ? ['  mode http'] : []),
      `  server s${i} 127.0.0.1:${f.to}${f.send ? ` ${f.send}` : ''}`,
    ]),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, cfg);
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned) throw new Error(`cannot start ${HAPROXY}: ${spawned.message}`);
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  // Ready when every frontend listens, bounded.
  const deadline = Date.now() + 10_000;
  for (const p of ports) {
    while (!(await accepting(p))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`haproxy did not listen on ${p}: exit ${child.exitCode}; ${stderr}`);
      }
      await sleep(50);
    }
  }
  return { ports, stop };
}
