// A real HAProxy (Debian's haproxy) in front of a node, as operators run EMQX behind one: TCP
// frontends on loopback passing connections to the node's listeners with a PROXY protocol
// header (v1, v2, v2 with the verified client certificate's CN), optionally terminating TLS.
// Runs in the foreground (-db) and is stopped by its PID (server-process.ts).
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './launcher.js';
import { startServer } from './server-process.js';

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
  const server = await startServer({
    what: 'haproxy',
    cmd: HAPROXY,
    args: ['-db', '-f', file],
    ready: async () => (await Promise.all(ports.map(accepting))).every(Boolean),
    timeoutMs: 10_000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { ports, stop: () => server.stop() };
}
