// `dns`: A/AAAA records of cluster.dns.name give `<my name part>@<ip>`, SRV records give
// `<my name part>@<target host>` (as ekka). cluster.dns.server (ours) picks one DNS server
// instead of the system resolver, so a cluster can use a private zone without touching resolv.conf.
import { Resolver } from 'node:dns/promises';
import type { DnsRecordType } from '../config/types.js';
import { DiscoveryError, namePart, type DiscoveryStrategy } from './types.js';

export interface DnsOptions {
  readonly name: string;
  readonly record_type: DnsRecordType;
  readonly server?: string;
  /** Per-query timeout; the resolver tries twice. */
  readonly timeoutMs?: number;
}

// "No such name" and "no such record" mean nobody is out there yet, not a broken backend.
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

export function dnsStrategy(self: string, opts: DnsOptions): DiscoveryStrategy {
  const app = namePart(self);
  const makeResolver = (): Resolver => {
    const r = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: 2 });
    if (opts.server !== undefined) r.setServers([opts.server]);
    return r;
  };
  // Validate the server address now, so a typo is a clear error at start rather than at first use.
  try {
    makeResolver();
  } catch (err) {
    throw new DiscoveryError('dns', `cluster.dns.server '${opts.server}' is not a valid 'host:port' DNS server address (${(err as Error).message})`);
  }

  async function lookup(resolver: Resolver): Promise<string[]> {
    switch (opts.record_type) {
      case 'a':
        return (await resolver.resolve4(opts.name)).map((ip) => `${app}@${ip}`);
      case 'aaaa':
        return (await resolver.resolve6(opts.name)).map((ip) => `${app}@${ip}`);
      case 'srv':
        return (await resolver.resolveSrv(opts.name)).map((r) => `${app}@${r.name.replace(/\.$/, '')}`);
    }
  }

  return {
    name: 'dns',
    async discover(signal?: AbortSignal): Promise<string[]> {
      const resolver = makeResolver();
      const onAbort = (): void => resolver.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        signal?.throwIfAborted();
        return [...new Set(await lookup(resolver))].sort();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined && EMPTY_ANSWER.has(code)) return [];
        if (signal?.aborted) throw signal.reason;
        const where = opts.server ?? 'the system resolver';
        throw new DiscoveryError('dns', `${opts.record_type.toUpperCase()} lookup of '${opts.name}' at ${where}: ${code ?? (err as Error).message}`);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    close: () => Promise.resolve(),
  };
}
