// Requests for another node are answered by that node over the cluster link, on the `api.rpc`
// channel; requests for this node are answered here without a round trip. Cluster-wide requests
// ask only the members membership sees running (never waiting on one it knows is down), all at
// once, each bounded by a short deadline: a member that does not answer in time is reported as
// down in the answer rather than failing it.
import type { Dist } from '../../link/types.js';
import type { ClientFilter, SubscriptionFilter } from '../format/clients.js';
import type { ListenerAction, LocalOps, Page, SubscribeRequest } from './local-ops.js';
import type { MessageKind, MessagesQuery } from '../format/client-messages.js';

export const API_CHANNEL = 'api.rpc';

export type Op =
  | { readonly op: 'info' }
  | { readonly op: 'stats' }
  | { readonly op: 'metrics' }
  | { readonly op: 'clients'; readonly filter: ClientFilter; readonly page: Page }
  | { readonly op: 'client'; readonly clientid: string }
  | { readonly op: 'kick'; readonly clientid: string }
  | { readonly op: 'kick_many'; readonly clientids: readonly string[] }
  | { readonly op: 'keepalive'; readonly clientid: string; readonly seconds: number }
  | { readonly op: 'client_msgs'; readonly clientid: string; readonly kind: MessageKind; readonly query: MessagesQuery }
  | { readonly op: 'sessions_count' }
  | { readonly op: 'tls_reload' }
  | { readonly op: 'client_subscribe'; readonly clientid: string; readonly subs: readonly SubscribeRequest[] }
  | { readonly op: 'client_unsubscribe'; readonly clientid: string; readonly topics: readonly string[] }
  | { readonly op: 'listeners' }
  | { readonly op: 'listener_action'; readonly id: string; readonly action: ListenerAction }
  | { readonly op: 'trace_sizes' }
  | { readonly op: 'trace_detail'; readonly name: string }
  | { readonly op: 'trace_read'; readonly name: string; readonly position: number; readonly bytes: number }
  | { readonly op: 'trace_file'; readonly name: string }
  | { readonly op: 'subscriptions'; readonly filter: SubscriptionFilter; readonly page: Page }
  | { readonly op: 'topics'; readonly topic?: string; readonly page: Page }
  | { readonly op: 'monitor'; readonly latest?: number }
  | { readonly op: 'monitor_current' }
  | { readonly op: 'prometheus' }
  | { readonly op: 'alarms'; readonly activated: boolean; readonly page: Page }
  | { readonly op: 'alarms_clear' }
  | { readonly op: 'authz_cache_clean'; readonly clientid?: string }
  | { readonly op: 'authz_cache'; readonly clientid: string }
  | { readonly op: 'topic_metrics' }
  | { readonly op: 'slow_subs' }
  | { readonly op: 'slow_subs_clear' }
  | { readonly op: 'topic_metrics_reset'; readonly topic?: string }
  | { readonly op: 'join'; readonly target: string }
  | { readonly op: 'backup_files' }
  | { readonly op: 'backup_read'; readonly filename: string }
  | { readonly op: 'backup_delete'; readonly filename: string }
  | { readonly op: 'backup_import'; readonly filename: string }
  | { readonly op: 'backup_upload'; readonly filename: string; readonly data: Buffer };

/** Runs one operation on this node. */
export function runLocal(ops: LocalOps, req: Op): unknown {
  switch (req.op) {
    case 'info':
      return ops.info();
    case 'stats':
      return ops.stats();
    case 'metrics':
      return ops.metrics();
    case 'clients':
      return ops.clients(req.filter, req.page);
    case 'client':
      return ops.client(req.clientid);
    case 'kick':
      return ops.kick(req.clientid);
    case 'kick_many':
      return ops.kickMany(req.clientids);
    case 'keepalive':
      return ops.setKeepalive(req.clientid, req.seconds);
    case 'client_msgs':
      return ops.clientMessages(req.clientid, req.kind, req.query);
    case 'sessions_count':
      return ops.sessionsCount();
    case 'tls_reload':
      return ops.tlsReload();
    case 'client_subscribe':
      return ops.subscribeClient(req.clientid, req.subs);
    case 'client_unsubscribe':
      return ops.unsubscribeClient(req.clientid, req.topics);
    case 'listeners':
      return ops.listeners();
    case 'listener_action':
      return ops.listenerAction(req.id, req.action);
    case 'trace_sizes':
      return ops.traceSizes();
    case 'trace_detail':
      return ops.traceDetail(req.name);
    case 'trace_read':
      return ops.traceRead(req.name, req.position, req.bytes);
    case 'trace_file':
      return ops.traceFile(req.name);
    case 'subscriptions':
      return ops.subscriptions(req.filter, req.page);
    case 'topics':
      return ops.topics(req.topic, req.page);
    case 'monitor':
      return ops.samples(req.latest);
    case 'monitor_current':
      return ops.current();
    case 'prometheus':
      return ops.prometheus();
    case 'alarms':
      return ops.alarms(req.activated, req.page);
    case 'alarms_clear':
      return ops.clearAlarms();
    case 'authz_cache_clean':
      return ops.cleanAuthzCache(req.clientid);
    case 'authz_cache':
      return ops.authzCache(req.clientid);
    case 'topic_metrics':
      return ops.topicMetrics();
    case 'slow_subs':
      return ops.slowSubs();
    case 'slow_subs_clear':
      return ops.clearSlowSubs();
    case 'topic_metrics_reset':
      return ops.resetTopicMetrics(req.topic);
    case 'join':
      return ops.join(req.target);
    case 'backup_files':
      return ops.backupFiles();
    case 'backup_read':
      return ops.backupRead(req.filename);
    case 'backup_delete':
      return ops.backupDelete(req.filename);
    case 'backup_import':
      return ops.backupImport(req.filename);
    case 'backup_upload':
      return ops.backupUpload(req.filename, req.data);
  }
}

const OPS = new Set(['info', 'stats', 'metrics', 'clients', 'client', 'kick', 'kick_many', 'keepalive', 'client_msgs', 'sessions_count', 'tls_reload', 'client_subscribe', 'client_unsubscribe', 'listeners', 'listener_action', 'trace_sizes', 'trace_detail', 'trace_read', 'trace_file', 'subscriptions', 'topics', 'monitor', 'monitor_current', 'prometheus', 'alarms', 'alarms_clear', 'authz_cache_clean', 'authz_cache', 'topic_metrics', 'topic_metrics_reset', 'slow_subs', 'slow_subs_clear', 'join', 'backup_files', 'backup_read', 'backup_delete', 'backup_import', 'backup_upload']);

function isOp(p: unknown): p is Op {
  return p !== null && typeof p === 'object' && OPS.has((p as { op?: unknown }).op as string);
}

export class NodeDownError extends Error {
  constructor(
    readonly node: string,
    reason: string,
  ) {
    super(`node ${node} did not answer: ${reason}`);
    this.name = 'NodeDownError';
  }
}

export interface RpcOptions {
  readonly dist: () => Dist;
  readonly local: LocalOps;
  /** Membership's view, local knowledge only (never waits on a peer). */
  readonly status: () => { readonly running: readonly string[]; readonly stopped: readonly string[] };
  /** Deadline of one call to another node, ms. */
  readonly timeoutMs: number;
}

export interface Gathered<T> {
  /** Per answering node, in node-name order. */
  readonly answers: ReadonlyArray<{ readonly node: string; readonly value: T }>;
  /** Members that are stopped, or running but did not answer in time. */
  readonly down: readonly string[];
}

export class ClusterRpc {
  constructor(private readonly o: RpcOptions) {}

  /** Serves the other nodes' requests (once, when the part starts). */
  serve(): void {
    this.o.dist().handle(API_CHANNEL, async (_from, payload) => {
      if (!isOp(payload)) throw new Error('api.rpc: unknown request');
      return runLocal(this.o.local, payload);
    });
  }

  get self(): string {
    return this.o.local.node;
  }

  /** Whether `node` is a member (running or stopped) or this node. */
  isMember(node: string): boolean {
    const s = this.o.status();
    return node === this.self || s.running.includes(node) || s.stopped.includes(node);
  }

  isRunning(node: string): boolean {
    return node === this.self || this.o.status().running.includes(node);
  }

  running(): string[] {
    const r = new Set(this.o.status().running);
    r.add(this.self);
    return [...r].sort();
  }

  stopped(): string[] {
    return [...this.o.status().stopped].sort();
  }

  /** One node's answer; NodeDownError when it is down or does not answer within the deadline. */
  async call<T>(node: string, req: Op, timeoutMs = this.o.timeoutMs): Promise<T> {
    if (node === this.self) return (await runLocal(this.o.local, req)) as T;
    if (!this.isRunning(node)) throw new NodeDownError(node, 'the node is not running');
    try {
      return (await this.o.dist().call(node, API_CHANNEL, req, timeoutMs)) as T;
    } catch (err) {
      throw new NodeDownError(node, err instanceof Error ? err.message : String(err));
    }
  }

  /** Asks every running member at once (or only `nodes`); stopped and silent ones are listed in `down`. */
  async gather<T>(req: Op, nodes?: readonly string[]): Promise<Gathered<T>> {
    const targets = (nodes ?? this.running()).filter((n) => this.isRunning(n));
    const down = new Set((nodes ?? this.stopped()).filter((n) => !this.isRunning(n)));
    const results = await Promise.allSettled(targets.map((n) => this.call<T>(n, req)));
    const answers: Array<{ node: string; value: T }> = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') answers.push({ node: targets[i]!, value: r.value });
      else down.add(targets[i]!);
    });
    return { answers, down: [...down].sort() };
  }
}
