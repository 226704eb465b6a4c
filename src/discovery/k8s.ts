// `k8s`: read the service's Endpoints from the API server with the pod's service-account token.
// The token and CA are re-read on every query, because Kubernetes rotates projected tokens.
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ClusterConfig } from '../config/types.js';
import { endpointAddresses, k8sNodeNames } from './k8s-names.js';
import { DiscoveryError, namePart, type DiscoveryLogger, type DiscoveryStrategy } from './types.js';

export interface K8sOptions {
  readonly timeoutMs?: number;
}

const MAX_BODY = 8 * 1024 * 1024;

export function k8sStrategy(self: string, cfg: ClusterConfig['k8s'], logger: DiscoveryLogger, opts: K8sOptions = {}): DiscoveryStrategy {
  const fail = (detail: string): DiscoveryError => new DiscoveryError('k8s', detail);
  let base: URL;
  try {
    base = new URL(cfg.apiserver);
  } catch {
    throw fail(`cluster.k8s.apiserver '${cfg.apiserver}' is not a URL`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw fail(`cluster.k8s.apiserver '${cfg.apiserver}' must be an https:// (or http://) URL`);
  }
  const path = `/api/v1/namespaces/${encodeURIComponent(cfg.namespace)}/endpoints/${encodeURIComponent(cfg.service_name)}`;
  const url = new URL(path, base);

  async function readSecret(file: string, what: string): Promise<string> {
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw fail(`cannot read the ${what} '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  async function get(signal?: AbortSignal): Promise<unknown> {
    const token = await readSecret(cfg.token_file, 'service-account token (cluster.k8s.token_file)');
    const ca = url.protocol === 'https:' ? await readSecret(cfg.cacert_file, 'API server CA (cluster.k8s.cacert_file)') : undefined;
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'GET',
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        ...(ca !== undefined ? { ca } : {}),
        signal: both,
      });
      req.on('response', resolve);
      req.on('error', (err) => {
        if (signal?.aborted) reject(signal.reason as Error);
        else if (timeout.aborted) reject(fail(`GET ${url.href}: no answer within ${opts.timeoutMs ?? 10_000} ms`));
        else reject(fail(`GET ${url.href}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
      req.end();
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) {
        res.destroy();
        throw fail(`GET ${url.href}: answer larger than ${MAX_BODY} bytes`);
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (res.statusCode !== 200) {
      const hint =
        res.statusCode === 401 ? ' (the token was not accepted)'
        : res.statusCode === 403 ? ' (the service account may not read endpoints in this namespace: check its Role)'
        : res.statusCode === 404 ? ` (no service '${cfg.service_name}' in namespace '${cfg.namespace}')`
        : '';
      throw fail(`GET ${url.href}: HTTP ${res.statusCode}${hint}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw fail(`GET ${url.href}: the answer is not JSON`);
    }
  }

  return {
    name: 'k8s',
    async discover(signal?: AbortSignal): Promise<string[]> {
      const body = await get(signal);
      let addresses;
      try {
        addresses = endpointAddresses(body);
      } catch (err) {
        throw fail(`GET ${url.href}: ${(err as Error).message}`);
      }
      const { nodes, skipped } = k8sNodeNames(addresses, {
        app: namePart(self),
        service: cfg.service_name,
        namespace: cfg.namespace,
        addressType: cfg.address_type,
        suffix: cfg.suffix,
      });
      if (skipped.length > 0) {
        logger.warn({ skipped, address_type: cfg.address_type }, 'k8s endpoints without the field cluster.k8s.address_type needs were skipped');
      }
      return nodes;
    },
    close: () => Promise.resolve(),
  };
}
