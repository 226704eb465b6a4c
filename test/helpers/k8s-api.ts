// A stand-in for the Kubernetes API server (which cannot run here): HTTPS with a certificate from
// a test CA, bearer-token check, and the real v1 Endpoints / Status JSON on the real paths.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface K8sEndpointAddress {
  readonly ip: string;
  readonly hostname?: string;
  readonly nodeName?: string;
}

export interface K8sApiOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly token: string;
}

export interface K8sApi {
  /** `https://127.0.0.1:<port>`, the form cluster.k8s.apiserver takes. */
  readonly url: string;
  /** Ready addresses of a service; `undefined` removes the service. */
  setEndpoints(namespace: string, service: string, addresses: readonly K8sEndpointAddress[] | undefined): void;
  /** Requests seen, with the Authorization header each carried. */
  readonly requests: Array<{ path: string; authorization: string | undefined }>;
  stop(): Promise<void>;
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function endpoints(namespace: string, service: string, addresses: readonly K8sEndpointAddress[]): string {
  return JSON.stringify({
    kind: 'Endpoints',
    apiVersion: 'v1',
    metadata: {
      name: service,
      namespace,
      uid: '5f7c8e6a-0000-4000-8000-000000000001',
      resourceVersion: '12345',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: service },
    },
    subsets: addresses.length === 0 ? undefined : [{
      addresses: addresses.map((a, i) => ({
        ip: a.ip,
        ...(a.hostname ? { hostname: a.hostname } : {}),
        nodeName: a.nodeName ?? `worker-${i}`,
        targetRef: { kind: 'Pod', namespace, name: a.hostname ?? `${service}-${i}`, uid: `00000000-0000-4000-8000-00000000000${i}` },
      })),
      ports: [{ name: 'ekka', port: 4370, protocol: 'TCP' }],
    }],
  });
}

export async function startK8sApi(opts: K8sApiOptions): Promise<K8sApi> {
  const services = new Map<string, readonly K8sEndpointAddress[]>();
  const requests: K8sApi['requests'] = [];
  const server: Server = createServer({ cert: await readFile(opts.certFile), key: await readFile(opts.keyFile) }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    requests.push({ path, authorization: req.headers.authorization });
    const send = (code: number, body: string): void => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(body);
    };
    if (req.headers.authorization !== `Bearer ${opts.token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/endpoints\/([^/]+)$/.exec(path);
    if (req.method !== 'GET' || !m) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [ns, svc] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
    const addrs = services.get(`${ns}/${svc}`);
    if (addrs === undefined) return send(404, status(404, 'NotFound', `endpoints "${svc}" not found`));
    send(200, endpoints(ns, svc, addrs));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    setEndpoints(namespace, service, addresses) {
      if (addresses === undefined) services.delete(`${namespace}/${service}`);
      else services.set(`${namespace}/${service}`, addresses);
    },
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
