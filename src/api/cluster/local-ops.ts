// What this node answers about itself, for its own API and for the other nodes' (over the
// cluster link, see rpc.ts): node info, stats, metrics, its clients, subscriptions and routes,
// its /monitor samples, a kick, and a join when another node invites it. Every answer is plain
// data (it crosses the link v8-serialized).
import type { Broker } from '../../broker/broker.js';
import type { Counters } from '../../base/metrics.js';
import type { Config } from '../../config/types.js';
import type { ClusterTraces } from '../../trace/cluster-traces.js';
import type { Listeners } from '../../mqtt/listeners.js';
import { clientJson, clientMatches, subscriptionRows, type ClientFilter, type ClientLimits, type Json, type SubscriptionFilter } from '../format/clients.js';
import type { Message, QoS } from '../../mqtt/port.js';
import { messagesPage, type MessageKind, type MessagesPage, type MessagesQuery } from '../format/client-messages.js';
import { newMessageId } from '../../broker/message-id.js';
import { reasonName } from '../../mqtt/reason-codes.js';
import { describeTopicProblem, exclusiveFilter, parseShared, validateFilter } from '../../mqtt/topic.js';
import type { Session } from '../../broker/session.js';
import { Monitor, type Sample } from './monitor.js';
import type { Alarms } from '../../alarm/alarms.js';
import type { AuthService } from '../../auth/service.js';
import type { TopicMetricsRow } from '../../broker/topic-metrics.js';
import type { SlowSub } from '../../broker/slow-subs.js';
import { alarmJson } from '../format/alarms.js';
import { nodeInfo } from './node-info.js';
import { systemMemory } from '../../base/system-usage.js';
import type { Db } from '../../db/db.js';
import { BackupError, exportData, importData, readArchive } from '../../db/backup/backup.js';
import { backupDir, backupFileInfo, deleteBackupFile, listBackupFiles, readBackupFile, storeBackupFile, type BackupFileInfo } from '../../db/backup/backup-files.js';

export interface LocalHost {
  readonly node: string;
  readonly version: string;
  readonly startedAt: number;
  readonly broker: Broker;
  readonly counters: Counters;
  config(): Config;
  /** Makes this node join `target` (an invitation); rejects with the join's error. */
  join(target: string): Promise<void>;
  /** Members of this node's cluster, running and stopped (cluster_nodes_* in Prometheus). */
  membership(): { running: readonly string[]; stopped: readonly string[] };
  /** The cluster's log traces on this node, once they run. */
  traces?(): ClusterTraces | undefined;
  /** This node's MQTT listeners. */
  readonly listeners?: Listeners;
  /** This node's alarms. */
  readonly alarms?: Alarms;
  /** This node's authentication and authorization, once they run. */
  auth?(): AuthService | undefined;
  /** The replicated database, once it is open (data export and import). */
  db?(): Db | undefined;
  /** The node a join in progress runs to (nothing is imported meanwhile). */
  busy?(): string | undefined;
  /** Reads the configuration and its certificate files again and applies what changed: why not, or undefined. */
  reload?(trigger: string): Promise<string | undefined>;
}

/** An import's outcome, plain data for the link: an error is a message, not a throw. */
export type ImportAnswer = { readonly ok: true } | { readonly ok: false; readonly code: 'NOT_FOUND' | 'BAD_REQUEST' | 'CONFLICT'; readonly message: string };

/** One MQTT listener of this node, as the listeners API reports it. */
export interface ListenerRow {
  readonly id: string;
  readonly bind: string;
  readonly enable: boolean;
  readonly running: boolean;
  readonly current_connections: number;
  readonly max_connections: number | 'infinity';
}

export type ListenerAction = 'start' | 'stop' | 'restart';

/** One subscription asked for through the API (EMQX's fields). */
export interface SubscribeRequest {
  readonly topic: string;
  readonly qos: number;
  readonly nl: number;
  readonly rap: number;
  readonly rh: number;
}

/** What became of it: EMQX's answer (the options, node, client id) or why not. */
export type SubscribeAnswer = { readonly ok: true; readonly sub: Json } | { readonly ok: false; readonly code: 'INVALID_PARAMETER' | 'INVALID_TOPIC' | 'REFUSED'; readonly message: string };

export interface Page {
  readonly offset: number;
  readonly limit: number;
}

export interface Slice {
  readonly count: number;
  readonly rows: Json[];
}

export type JoinAnswer = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly node?: string; readonly message: string };

/** Stats kept as a historical maximum too (`<name>.max`). */
const MAXED = ['connections', 'live_connections', 'sessions', 'channels', 'cluster_sessions', 'topics', 'subscriptions', 'subscriptions.shared', 'subscribers', 'suboptions', 'retained', 'delayed'];

export class LocalOps {
  readonly monitor: Monitor;
  readonly #max = new Map<string, number>();

  constructor(private readonly h: LocalHost) {
    this.monitor = new Monitor(h.config().dashboard.sample_interval);
  }

  get node(): string {
    return this.h.node;
  }

  info(): Json {
    const b = this.h.broker;
    const c = this.h.config();
    return nodeInfo({ node: this.h.node, version: this.h.version, startedAt: this.h.startedAt, sessions: b.sessions.size, connections: b.connections, root: c.paths.root, logDir: c.paths.log_dir });
  }

  /** EMQX's emqx_stats names, with `.max` beside every count. */
  stats(): Record<string, number> {
    const s = this.h.broker.stats();
    const counts: Record<string, number> = {
      ...s,
      'channels.count': s['sessions.count'] ?? 0,
      'cluster_sessions.count': s['sessions.count'] ?? 0,
    };
    const out: Record<string, number> = {};
    for (const name of MAXED) {
      const v = counts[`${name}.count`] ?? 0;
      const max = Math.max(v, this.#max.get(name) ?? 0);
      this.#max.set(name, max);
      out[`${name}.count`] = v;
      out[`${name}.max`] = max;
    }
    return out;
  }

  metrics(): Record<string, number> {
    return { ...this.h.counters };
  }

  #limits(): ClientLimits {
    const m = this.h.config().mqtt;
    return { maxInflight: m.max_inflight, maxMqueue: m.max_mqueue_len, maxAwaitingRel: m.max_awaiting_rel, maxSubscriptions: m.max_subscriptions };
  }

  clients(filter: ClientFilter, page: Page): Slice {
    const rows: Json[] = [];
    let count = 0;
    const lim = this.#limits();
    for (const s of this.h.broker.sessions.values()) {
      if (!clientMatches(s, filter)) continue;
      if (count >= page.offset && rows.length < page.limit) rows.push(clientJson(s, this.h.node, lim));
      count++;
    }
    return { count, rows };
  }

  /** This node's active alarms, or its history (GET /alarms). */
  alarms(activated: boolean, page: Page): Slice {
    const a = this.h.alarms;
    if (!a) return { count: 0, rows: [] };
    const list = activated ? a.activated() : a.deactivated();
    const now = a.nowUs();
    return { count: list.length, rows: list.slice(page.offset, page.offset + page.limit).map((x) => alarmJson(this.h.node, x, now)) };
  }

  /** This node's counts of the metered topics. */
  topicMetrics(): TopicMetricsRow[] {
    return this.h.broker.topicMetrics.rows();
  }

  /** Resets this node's counts of one metered topic, or of all; false when it is not metered. */
  resetTopicMetrics(topic?: string): boolean {
    return this.h.broker.topicMetrics.reset(Date.now(), topic);
  }

  /** This node's slowest deliveries. */
  slowSubs(): SlowSub[] {
    return this.h.broker.slowSubs.list(Date.now());
  }

  clearSlowSubs(): boolean {
    this.h.broker.slowSubs.clear();
    return true;
  }

  /** DELETE /alarms: this node's history of deactivated alarms. */
  clearAlarms(): boolean {
    this.h.alarms?.clearHistory();
    return true;
  }

  /**
   * DELETE /authorization/cache: this node's clients forget their cached answers; with `clientid`,
   * that client alone (false: it is not connected here).
   */
  cleanAuthzCache(clientid?: string): boolean {
    if (clientid === undefined) {
      this.h.auth?.()?.authorizer.invalidate();
      return true;
    }
    const access = this.h.broker.sessions.get(clientid)?.outlet?.access;
    if (!access) return false;
    access.cleanCache?.();
    return true;
  }

  /** A connected client's cached authorization answers; null: not connected here. */
  authzCache(clientid: string): readonly unknown[] | null {
    const out = this.h.broker.sessions.get(clientid)?.outlet;
    if (!out) return null;
    return out.access?.cached?.() ?? [];
  }

  client(clientid: string): Json | null {
    const s = this.h.broker.sessions.get(clientid);
    return s ? clientJson(s, this.h.node, this.#limits()) : null;
  }

  kick(clientid: string): boolean {
    return this.h.broker.kick(clientid);
  }

  /** Kicks those of `clientids` this node holds; how many it did. */
  kickMany(clientids: readonly string[]): number {
    let n = 0;
    for (const id of clientids) if (this.h.broker.kick(id)) n++;
    return n;
  }

  /**
   * Changes a connected client's keepalive (EMQX's PUT /clients/:clientid/keepalive): the
   * connection is held to the new interval from now on, and `clients show` reports it. null: no
   * session here; 'offline': a session here without a connection.
   */
  setKeepalive(clientid: string, seconds: number): Json | null | 'offline' {
    const s = this.h.broker.sessions.get(clientid);
    if (!s) return null;
    if (!s.outlet?.setKeepalive) return 'offline';
    s.outlet.setKeepalive(seconds);
    s.client = { ...s.client, keepalive: seconds };
    return clientJson(s, this.h.node, this.#limits());
  }

  /** A page of a session's queued or in-flight messages; null: no session here. */
  clientMessages(clientid: string, kind: MessageKind, q: MessagesQuery): MessagesPage | 'not_utf8' | null {
    const s = this.h.broker.sessions.get(clientid);
    if (!s) return null;
    const page = kind === 'mqueue' ? s.queue.page(q.after, q.limit) : s.inflightPage(q.after, q.limit);
    return messagesPage(kind, page, q, this.#messageId);
  }

  /**
   * A message's id as the API shows it, made on first sight and kept while the message lives
   * (every delivery of one publish shares its Message, so they show one id on this node).
   */
  readonly #messageIds = new WeakMap<Message, string>();
  readonly #messageId = (m: Message): string => {
    let id = this.#messageIds.get(m);
    if (id === undefined) {
      id = newMessageId(m.timestamp);
      this.#messageIds.set(m, id);
    }
    return id;
  };

  /** `pem_cache clean`: this node's certificate files read again (a reload); null, or why it failed. */
  async tlsReload(): Promise<string | null> {
    if (!this.h.reload) return 'this node cannot reload';
    return (await this.h.reload('pem_cache clean')) ?? null;
  }

  /** Sessions on this node, connected or not (GET /sessions_count adds up the members'). */
  sessionsCount(): number {
    return this.h.broker.sessions.size;
  }

  /** Subscribes a client of this node (null: it has no session here), as if it had sent SUBSCRIBE. */
  async subscribeClient(clientid: string, subs: readonly SubscribeRequest[]): Promise<SubscribeAnswer[] | null> {
    const s = this.h.broker.sessions.get(clientid);
    if (!s) return null;
    const mqtt = this.h.config().mqtt;
    const out: SubscribeAnswer[] = [];
    for (const r of subs) {
      const exclusive = exclusiveFilter(r.topic);
      const topic = exclusive ?? r.topic;
      const problem = validateFilter(topic, mqtt.max_topic_levels);
      if (problem) {
        out.push({ ok: false, code: 'INVALID_TOPIC', message: `'${r.topic}': ${describeTopicProblem(problem)}` });
        continue;
      }
      const shared = parseShared(topic);
      if (exclusive !== undefined && (!mqtt.exclusive_subscription || shared !== undefined)) {
        out.push({ ok: false, code: 'INVALID_TOPIC', message: `'${r.topic}': ${mqtt.exclusive_subscription ? 'a shared filter cannot be exclusive' : 'exclusive subscriptions are off (mqtt.exclusive_subscription)'}` });
        continue;
      }
      if (shared !== undefined && r.nl === 1) {
        out.push({ ok: false, code: 'INVALID_PARAMETER', message: 'Invalid Subscribe options: `no_local` not allowed for shared-sub. See [MQTT-3.8.3-4]' });
        continue;
      }
      if (exclusive !== undefined && !(await this.h.broker.claimExclusive(topic, clientid))) {
        out.push({ ok: false, code: 'REFUSED', message: `subscription refused: ${reasonName(0x97)} ('${topic}' is held by another client)` });
        continue;
      }
      const answer = this.#subscribeOne(s, clientid, topic, r, exclusive !== undefined);
      if (exclusive !== undefined && !answer.ok) this.h.broker.releaseExclusive(topic, clientid);
      out.push(answer);
    }
    return out;
  }

  /** One subscription made for the client as if it had sent SUBSCRIBE (its lock taken already). */
  #subscribeOne(s: Session, clientid: string, topic: string, r: SubscribeRequest, exclusive: boolean): SubscribeAnswer {
    const res = s.subscribe(topic, { qos: r.qos as QoS, nl: r.nl === 1, rap: r.rap === 1, rh: r.rh as 0 | 1 | 2, ...(exclusive ? { exclusive: true as const } : {}) });
    if (res.rc >= 0x80) return { ok: false, code: 'REFUSED', message: `subscription refused: ${reasonName(res.rc)}` };
    const after = res.afterAck;
    if (after) {
      if (res.ready) void res.ready.then(after);
      else after();
    }
    return { ok: true, sub: { topic: r.topic, qos: r.qos, nl: r.nl, rap: r.rap, rh: r.rh, node: this.h.node, clientid } };
  }

  listeners(): ListenerRow[] {
    return (this.h.listeners?.list() ?? []).map((l) => ({
      id: l.id,
      bind: l.bind,
      enable: l.enable,
      running: l.running,
      current_connections: l.currentConns,
      max_connections: l.maxConns === Number.POSITIVE_INFINITY ? 'infinity' : l.maxConns,
    }));
  }

  /** Starts, stops or restarts a listener here; as EMQX, starting a running one or stopping a stopped one is no error. */
  async listenerAction(id: string, action: ListenerAction): Promise<{ ok: true } | { ok: false; error: string }> {
    const l = this.h.listeners;
    if (!l) return { ok: false, error: 'no listeners on this node' };
    try {
      if (action === 'start') await l.startListener(id);
      else if (action === 'stop') await l.stopListener(id);
      else await l.restartListener(id);
      return { ok: true };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if ((action === 'start' && why === 'already_started') || (action === 'stop' && why === 'not_running')) return { ok: true };
      return { ok: false, error: why };
    }
  }

  /** This node's trace files: sizes by trace name. */
  traceSizes(): Record<string, number> {
    return this.h.traces?.()?.sizes() ?? {};
  }

  traceDetail(name: string): { size: number; mtime: number } | null {
    return this.h.traces?.()?.detail(name) ?? null;
  }

  traceRead(name: string, position: number, bytes: number): { data: Buffer; size: number } | null {
    return this.h.traces?.()?.read(name, position, bytes) ?? null;
  }

  #backupDir(): string {
    return backupDir(this.h.config().node.data_dir);
  }

  backupFiles(): Promise<BackupFileInfo[]> {
    return listBackupFiles(this.#backupDir(), this.h.node);
  }

  async backupRead(filename: string): Promise<Buffer | null> {
    return (await readBackupFile(this.#backupDir(), filename)) ?? null;
  }

  backupDelete(filename: string): Promise<boolean> {
    return deleteBackupFile(this.#backupDir(), filename);
  }

  /** An uploaded export stored here once it reads as one: null, or why not. */
  async backupUpload(filename: string, data: Buffer): Promise<string | null> {
    return (await storeBackupFile(this.#backupDir(), filename, data, readArchive)) ?? null;
  }

  /** `data export` on this node: the new file's info. */
  async backupExport(): Promise<BackupFileInfo> {
    const db = this.h.db?.();
    if (!db) throw new BackupError('the database is not open yet');
    const c = this.h.config();
    const file = await exportData({ db, node: this.h.node, version: this.h.version, dir: this.#backupDir(), confFile: c.paths.conf_file, say: () => undefined });
    const i = await backupFileInfo(this.#backupDir(), this.h.node, file.slice(this.#backupDir().length + 1));
    if (!i) throw new BackupError(`${file} is gone right after it was written`);
    return i;
  }

  /** `data import` of a file in this node's backup directory. */
  async backupImport(filename: string): Promise<ImportAnswer> {
    const db = this.h.db?.();
    if (!db) return { ok: false, code: 'BAD_REQUEST', message: 'the database is not open yet' };
    const joining = this.h.busy?.();
    if (joining) return { ok: false, code: 'CONFLICT', message: `a cluster join to ${joining} is in progress on ${this.h.node}` };
    if (!(await backupFileInfo(this.#backupDir(), this.h.node, filename))) return { ok: false, code: 'NOT_FOUND', message: 'Backup file not found' };
    try {
      await importData({ db, file: `${this.#backupDir()}/${filename}`, say: () => undefined });
      return { ok: true };
    } catch (err) {
      if (err instanceof BackupError) return { ok: false, code: 'BAD_REQUEST', message: err.message };
      throw err;
    }
  }

  traceFile(name: string): { name: string; data: Buffer; mtime: number } | null {
    return this.h.traces?.()?.file(name) ?? null;
  }

  /** Unsubscribes a client of this node (null: it has no session here). */
  unsubscribeClient(clientid: string, topics: readonly string[]): boolean[] | null {
    const s = this.h.broker.sessions.get(clientid);
    if (!s) return null;
    return topics.map((t) => s.unsubscribe(exclusiveFilter(t) ?? t));
  }

  subscriptions(filter: SubscriptionFilter, page: Page): Slice {
    const rows: Json[] = [];
    let count = 0;
    const sessions = filter.clientid !== undefined ? [this.h.broker.sessions.get(filter.clientid)].filter((s) => s !== undefined) : this.h.broker.sessions.values();
    for (const s of sessions) {
      for (const row of subscriptionRows(s, this.h.node, filter)) {
        if (count >= page.offset && rows.length < page.limit) rows.push(row);
        count++;
      }
    }
    return { count, rows };
  }

  /** This node's routes: one per subscribed filter (shared ones by their inner filter), as `topics list`. */
  topics(topic: string | undefined, page: Page): Slice {
    const b = this.h.broker;
    const all = new Set<string>();
    for (const f of b.subs.filters()) all.add(f);
    for (const f of b.shared.filters()) all.add(f);
    const list = [...all].filter((t) => topic === undefined || t === topic).sort();
    return { count: list.length, rows: list.slice(page.offset, page.offset + page.limit).map((t) => ({ topic: t, node: this.h.node })) };
  }

  /** Takes a /monitor sample (called every dashboard.sample_interval). */
  sample(now = Date.now()): void {
    const s = this.stats();
    const c = this.h.counters;
    this.monitor.take(now, {
      received: c['messages.received'],
      sent: c['messages.sent'],
      dropped: c['messages.dropped'],
      connections: s['sessions.count'] ?? 0,
      live_connections: s['live_connections.count'] ?? 0,
      subscriptions: s['subscriptions.count'] ?? 0,
      topics: s['topics.count'] ?? 0,
      retained_msg_count: s['retained.count'] ?? 0,
      shared_subscriptions: s['subscriptions.shared.count'] ?? 0,
    });
  }

  samples(latestS: number | undefined): Sample[] {
    return this.monitor.samples(Date.now(), latestS);
  }

  current(): Json {
    return { ...this.monitor.current(), node_uptime: Math.floor((Date.now() - this.h.startedAt) / 1000) };
  }

  /** What this node contributes to a Prometheus scrape. */
  prometheus(): { stats: Record<string, number>; metrics: Record<string, number>; vm: Record<string, number>; cluster: Record<string, number> } {
    const mem = systemMemory();
    const m = this.h.membership();
    return {
      stats: this.stats(),
      metrics: this.metrics(),
      vm: { total_memory: mem.total, used_memory: mem.used, process_resident_memory: process.memoryUsage.rss() },
      cluster: { nodes_running: m.running.length, nodes_stopped: m.stopped.length },
    };
  }

  async join(target: string): Promise<JoinAnswer> {
    try {
      await this.h.join(target);
      return { ok: true };
    } catch (err) {
      const e = err as { code?: unknown; node?: unknown; message?: unknown };
      return {
        ok: false,
        code: typeof e.code === 'string' ? e.code : 'join_failed',
        ...(typeof e.node === 'string' ? { node: e.node } : {}),
        message: typeof e.message === 'string' ? e.message : String(err),
      };
    }
  }
}
