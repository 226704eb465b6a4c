// Pure part of the `k8s` strategy: from an Endpoints object to node names, following ekka's
// ekka_cluster_k8s: `<app>@<host>` where host depends on address_type and suffix.
import type { K8sAddressType } from '../config/types.js';

export interface K8sNaming {
  /** The name part of this node: every pod runs the same app name. */
  readonly app: string;
  readonly service: string;
  readonly namespace: string;
  readonly addressType: K8sAddressType;
  readonly suffix: string;
}

export interface EndpointAddress {
  readonly ip?: unknown;
  readonly hostname?: unknown;
}

/** The result, plus addresses skipped because they lack the field address_type needs. */
export interface K8sNames {
  readonly nodes: string[];
  readonly skipped: string[];
}

/** Throws a plain Error with a message naming what is wrong with the response shape. */
export function endpointAddresses(body: unknown): EndpointAddress[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error('the API server answered with something that is not a JSON object');
  }
  const obj = body as { kind?: unknown; subsets?: unknown };
  if (obj.kind !== undefined && obj.kind !== 'Endpoints') {
    throw new Error(`expected an object of kind 'Endpoints', got kind '${String(obj.kind)}'`);
  }
  // An Endpoints object with no ready pods has no `subsets` at all.
  if (obj.subsets === undefined || obj.subsets === null) return [];
  if (!Array.isArray(obj.subsets)) throw new Error("'subsets' is not an array");
  const out: EndpointAddress[] = [];
  for (const subset of obj.subsets as unknown[]) {
    const addrs = (subset as { addresses?: unknown } | null)?.addresses;
    if (addrs === undefined || addrs === null) continue;
    if (!Array.isArray(addrs)) throw new Error("'subsets[].addresses' is not an array");
    for (const a of addrs as unknown[]) if (typeof a === 'object' && a !== null) out.push(a as EndpointAddress);
  }
  return out;
}

export function k8sNodeNames(addresses: readonly EndpointAddress[], n: K8sNaming): K8sNames {
  const nodes = new Set<string>();
  const skipped: string[] = [];
  for (const a of addresses) {
    const ip = typeof a.ip === 'string' && a.ip !== '' ? a.ip : undefined;
    const hostname = typeof a.hostname === 'string' && a.hostname !== '' ? a.hostname : undefined;
    let host: string | undefined;
    switch (n.addressType) {
      case 'ip':
        host = ip;
        break;
      case 'dns':
        // Pod DNS: 10-0-0-1.<namespace>.pod.cluster.local style; IPv6 colons become dashes too.
        host = ip === undefined ? undefined : withSuffix(ip.replace(/[.:]/g, '-'), [n.namespace], n.suffix);
        break;
      case 'hostname':
        // Stateful sets: <pod hostname>.<headless service>.<namespace>.svc.cluster.local.
        host = hostname === undefined ? undefined : withSuffix(hostname, [n.service, n.namespace], n.suffix);
        break;
    }
    if (host === undefined) skipped.push(JSON.stringify(a));
    else nodes.add(`${n.app}@${host}`);
  }
  return { nodes: [...nodes].sort(), skipped };
}

// ekka only appends the service/namespace/suffix when a suffix is configured.
function withSuffix(host: string, middle: readonly string[], suffix: string): string {
  return suffix === '' ? host : [host, ...middle, suffix].join('.');
}
