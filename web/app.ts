// The dashboard page: a client of the /api/v5 API and nothing else. The token from POST /login
// is kept in sessionStorage and sent in the Authorization header (no cookie, so no request can
// be forged from another site). Every view refreshes itself on a timer without reloading.
const API = '/api/v5';
const TOKEN_KEY = 'emqx-ts.token';
const REFRESH_MS = 2000;
const SVG_NS = 'http://www.w3.org/2000/svg';

interface NodeInfo {
  node: string;
  node_status: 'running' | 'stopped';
  role?: string;
  uptime?: number;
  connections?: number;
  live_connections?: number;
  memory_used?: string;
  memory_total?: string;
  process_memory?: string;
  load1?: number;
  load5?: number;
  load15?: number;
}
interface Sample {
  time_stamp: number;
  received: number;
  sent: number;
}
interface Client {
  clientid: string;
  username: string | null;
  node: string;
  ip_address: string;
  port: number | null;
  connected: boolean;
  subscriptions_cnt: number;
  inflight_cnt: number;
  mqueue_len: number;
}
interface Subscription {
  clientid: string;
  topic: string;
  qos: number;
  node: string;
}

interface Retained {
  topic: string;
  qos: number;
  from_clientid: string;
  publish_at: string;
}
interface Delayed {
  msgid: string;
  node: string;
  topic: string;
  qos: number;
  from_clientid: string;
  expected_at: string;
  delayed_remaining: number;
}

interface Alarm {
  node: string;
  name: string;
  message: string;
  activate_at: string;
  deactivate_at: string;
}

/** An authenticator (GET /authentication) or an authorization source (GET /authorization/sources). */
interface AccessEntry {
  id?: string;
  type?: string;
  backend?: string;
  enable: boolean;
  url?: string;
  server?: string;
  servers?: string;
  path?: string;
  endpoint?: string;
}

interface TopicMetric {
  topic: string;
  metrics: Record<string, number>;
}

interface ListenerRow {
  id: string;
  bind: string;
  enable: boolean;
  running: boolean;
  number: number;
  status: { current_connections: number; max_connections: number | string };
}

interface BackupFile {
  node: string;
  filename: string;
  size: number;
  created_at: string;
}

interface BanRow {
  as: string;
  who: string;
  by: string;
  reason: string;
  until: string;
}

interface DashboardUser {
  username: string;
  description: string;
  role: string;
}

interface TraceInfo {
  name: string;
  type: 'clientid' | 'topic' | 'ip_address';
  status: string;
  log_size: Record<string, number>;
  [key: string]: unknown;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

class Unauthorized extends Error {}

/** The page's refreshes on their way (see refresh()). */
const refreshing = new Set<Promise<void>>();

/** The logged-in user: the token's payload names it (the page only reads it, the API checks it). */
function me(): string | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return undefined;
  try {
    return JSON.parse(atob(token.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))).u as string;
  } catch {
    return undefined;
  }
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401) throw new Unauthorized();
  if (res.status === 204) return undefined as T;
  const data = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(data.message ?? `${res.status}`);
  return data;
}

function text(s: string | number | null | undefined): Text {
  return document.createTextNode(s === null || s === undefined ? '-' : String(s));
}

function svg(tag: string, attrs: Record<string, string | number>, parent: Element): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  parent.appendChild(el);
  return el;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

// ---- views ----

function drawTopology(nodes: NodeInfo[]): void {
  const root = $('topology') as unknown as SVGSVGElement;
  root.replaceChildren();
  const w = 900;
  const h = 360;
  const n = nodes.length;
  const pos = nodes.map((_, i) => {
    if (n === 1) return { x: w / 2, y: h / 2 };
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    return { x: w / 2 + Math.cos(a) * (w / 2 - 130), y: h / 2 + Math.sin(a) * (h / 2 - 70) };
  });
  // Links: the full mesh among running members.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (nodes[i]!.node_status === 'running' && nodes[j]!.node_status === 'running') {
        svg('line', { class: 'link', x1: pos[i]!.x, y1: pos[i]!.y, x2: pos[j]!.x, y2: pos[j]!.y }, root);
      }
    }
  }
  nodes.forEach((node, i) => {
    const g = svg('g', { class: `node ${node.node_status}`, 'data-node': node.node, transform: `translate(${pos[i]!.x - 130},${pos[i]!.y - 52})` }, root);
    svg('rect', { width: 260, height: 104, rx: 8 }, g);
    const line = (y: number, s: string, cls = ''): void => {
      const t = svg('text', { x: 10, y, ...(cls ? { class: cls } : {}) }, g);
      t.textContent = s;
    };
    line(18, node.node, 'title');
    const state = svg('text', { x: 10, y: 36, class: 'state' }, g);
    state.textContent = node.node_status;
    const role = svg('text', { x: 80, y: 36 }, g);
    role.textContent = `${node.role ?? 'core'}${node.node_status === 'running' ? ` · up ${duration(node.uptime)}` : ''}`;
    if (node.node_status === 'running') {
      line(54, `connections ${node.live_connections ?? 0} / sessions ${node.connections ?? 0}`);
      line(72, `memory ${node.process_memory ?? '-'} (host ${node.memory_used ?? '-'} / ${node.memory_total ?? '-'})`);
      line(90, `load ${node.load1 ?? '-'} ${node.load5 ?? '-'} ${node.load15 ?? '-'}`);
    } else {
      line(60, 'not answering');
    }
  });
  const running = nodes.filter((x) => x.node_status === 'running').length;
  $('node-summary').textContent = `${running} running, ${n - running} stopped`;
}

function drawChart(samples: Sample[]): void {
  const root = $('chart') as unknown as SVGSVGElement;
  root.replaceChildren();
  const w = 900;
  const h = 220;
  const pad = { l: 50, r: 10, t: 10, b: 24 };
  const interval = samples.length > 1 ? Math.max(1, (samples[samples.length - 1]!.time_stamp - samples[0]!.time_stamp) / (samples.length - 1)) : 10_000;
  const rateIn = samples.map((s) => (s.received * 1000) / interval);
  const rateOut = samples.map((s) => (s.sent * 1000) / interval);
  const max = Math.max(1, ...rateIn, ...rateOut);
  const now = Date.now();
  const x = (t: number): number => pad.l + ((t - (now - 300_000)) / 300_000) * (w - pad.l - pad.r);
  const y = (v: number): number => h - pad.b - (v / max) * (h - pad.t - pad.b);
  svg('line', { class: 'axis', x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b }, root);
  svg('line', { class: 'axis', x1: pad.l, y1: pad.t, x2: pad.l, y2: h - pad.b }, root);
  const label = (lx: number, ly: number, s: string, anchor = 'end'): void => {
    const t = svg('text', { x: lx, y: ly, class: 'chart-label', 'text-anchor': anchor }, root);
    t.textContent = s;
  };
  label(pad.l - 6, pad.t + 10, max >= 10 ? max.toFixed(0) : max.toFixed(1));
  label(pad.l - 6, h - pad.b, '0');
  label(pad.l, h - 6, '-5 min', 'start');
  label(w - pad.r, h - 6, 'now');
  const path = (rates: number[], cls: string): void => {
    if (samples.length === 0) return;
    const d = samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.time_stamp).toFixed(1)},${y(rates[i]!).toFixed(1)}`).join(' ');
    svg('path', { d, class: cls }, root);
  };
  path(rateIn, 'chart-in');
  path(rateOut, 'chart-out');
  const last = samples.length - 1;
  $('rates').textContent = last >= 0 ? `now: ${rateIn[last]!.toFixed(1)} in/s, ${rateOut[last]!.toFixed(1)} out/s` : 'waiting for the first samples';
}

function fillClients(list: { data: Client[]; meta: { count: number } }): void {
  const body = $('clients').querySelector('tbody')!;
  body.replaceChildren();
  for (const c of list.data) {
    const tr = document.createElement('tr');
    tr.dataset.clientid = c.clientid;
    for (const v of [c.clientid, c.username, c.node, `${c.ip_address}:${c.port ?? ''}`, c.connected ? 'yes' : 'no', c.subscriptions_cnt, `${c.inflight_cnt} / ${c.mqueue_len}`]) {
      const td = document.createElement('td');
      td.appendChild(text(v));
      tr.appendChild(td);
    }
    const td = document.createElement('td');
    td.appendChild(button('Messages', 'view', () => void viewMessages(c.clientid).catch(() => undefined)));
    td.appendChild(button('Kick', 'kick', () => void kickClient(c.clientid)));
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $('client-count').textContent = `${list.meta.count} in total`;
}

function fillSubscriptions(list: { data: Subscription[]; meta: { count: number } }): void {
  const body = $('subscriptions').querySelector('tbody')!;
  body.replaceChildren();
  for (const s of list.data) {
    const tr = document.createElement('tr');
    for (const v of [s.clientid, s.topic, s.qos, s.node]) {
      const td = document.createElement('td');
      td.appendChild(text(v));
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  $('sub-count').textContent = `${list.meta.count} in total`;
}

/** A table's rows from `cells`, each row ending with the buttons `actions` gives it. */
function fillRows<T>(table: string, rows: T[], key: (r: T) => string, cells: (r: T) => Array<string | number | null>, actions: (r: T) => HTMLElement[]): void {
  const body = $(table).querySelector('tbody')!;
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    tr.dataset.key = key(r);
    for (const v of cells(r)) {
      const td = document.createElement('td');
      td.appendChild(text(v));
      tr.appendChild(td);
    }
    const td = document.createElement('td');
    for (const el of actions(r)) td.appendChild(el);
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function button(label: string, cls: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

/** A button that calls the API, then refreshes the page's tables. */
const apiButton = (label: string, cls: string, method: string, path: string, body?: unknown): HTMLButtonElement =>
  button(label, cls, () => void api(method, path, body).catch(() => undefined).then(refresh));

function fillRetained(list: { data: Retained[]; meta: { count?: number } }): void {
  // $SYS topics are the broker's own; the table shows what clients retained.
  const rows = list.data.filter((m) => !m.topic.startsWith('$SYS/'));
  fillRows('retained', rows, (m) => m.topic, (m) => [m.topic, m.qos, m.from_clientid, m.publish_at], (m) => [apiButton('Delete', 'kick', 'DELETE', `/mqtt/retainer/message/${encodeURIComponent(m.topic)}`)]);
  $('retained-count').textContent = `${rows.length} shown`;
}

function fillDelayed(list: { data: Delayed[]; meta: { count: number } }): void {
  fillRows(
    'delayed',
    list.data,
    (m) => m.msgid,
    (m) => [m.topic, m.qos, m.from_clientid, m.node, m.expected_at, `${m.delayed_remaining} s`],
    (m) => [apiButton('Delete', 'kick', 'DELETE', `/mqtt/delayed/messages/${encodeURIComponent(m.node)}/${m.msgid}`)],
  );
  $('delayed-count').textContent = `${list.meta.count} in total`;
}

/** Active alarms first (marked), then the latest of the history. */
function fillAlarms(active: { data: Alarm[]; meta: { count: number } }, history: { data: Alarm[]; meta: { count: number } }): void {
  const rows = [...active.data, ...history.data.slice(-20).reverse()];
  const body = $('alarms').querySelector('tbody')!;
  body.replaceChildren();
  for (const a of rows) {
    const tr = document.createElement('tr');
    tr.dataset.key = `${a.node}/${a.name}/${a.activate_at}`;
    if (a.deactivate_at === 'infinity') tr.className = 'alarm-active';
    for (const v of [a.node, a.name, a.message, a.activate_at, a.deactivate_at === 'infinity' ? 'active' : a.deactivate_at]) {
      const td = document.createElement('td');
      td.appendChild(text(v));
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  $('alarm-count').textContent = `${active.meta.count} active`;
  $('alarm-history-count').textContent = `${history.meta.count} in the history`;
}

/** Where an authenticator or source looks: its URL, Redis server, file or the replicated tables. */
function whereOf(a: AccessEntry): string {
  return a.url ?? a.server ?? a.servers ?? a.path ?? a.endpoint ?? (a.backend === 'built_in_database' || a.type === 'built_in_database' ? 'replicated tables' : '');
}

function fillAccess(chain: AccessEntry[], sources: { sources: AccessEntry[] }): void {
  if (chain.length === 0) fillRows('authn', [0], () => 'none', () => ['none: every client is let in', '', ''], () => []);
  else fillRows('authn', chain, (a) => a.id ?? '', (a) => [a.id ?? '', a.enable ? 'yes' : 'no', whereOf(a)], () => []);
  fillRows('authz', sources.sources, (a) => a.type ?? '', (a) => [a.type ?? '', a.enable ? 'yes' : 'no', whereOf(a)], () => []);
}

function fillUsers(users: DashboardUser[]): void {
  const self = me();
  fillRows('users', users, (u) => u.username, (u) => [u.username, u.description, u.role], (u) => (u.username === self ? [] : [button('Delete', 'kick', () => void deleteUser(u.username))]));
  $('user-count').textContent = `${users.length}`;
}

function fillListeners(list: ListenerRow[]): void {
  const path = (l: ListenerRow): string => `/listeners/${encodeURIComponent(l.id)}`;
  fillRows(
    'listeners',
    list,
    (l) => l.id,
    (l) => [l.id, l.bind, l.running ? `running on ${l.number}` : l.enable ? 'stopped' : 'off (enable = false)', `${l.status.current_connections} / ${l.status.max_connections}`],
    (l) => (l.running ? [apiButton('Restart', 'view', 'POST', `${path(l)}/restart`), apiButton('Stop', 'kick stop', 'POST', `${path(l)}/stop`)] : [apiButton('Start', 'view start', 'POST', `${path(l)}/start`)]),
  );
}

function fillBackups(list: { data: BackupFile[]; meta: { count: number } }): void {
  const path = (f: BackupFile): string => `/data/files/${encodeURIComponent(f.filename)}?node=${encodeURIComponent(f.node)}`;
  fillRows(
    'backups',
    list.data,
    (f) => `${f.node}/${f.filename}`,
    (f) => [f.filename, f.node, `${Math.ceil(f.size / 1024)} KiB`, f.created_at],
    (f) => [
      button('Download', 'download', () => void download(path(f), f.filename).catch(() => undefined)),
      button('Import', 'view import', () => void importBackup(f)),
      apiButton('Delete', 'kick', 'DELETE', path(f)),
    ],
  );
  $('backup-count').textContent = `${list.meta.count} in total`;
}

/** Merges a backup into the cluster's data (the node holding the file reads it). */
async function importBackup(f: BackupFile): Promise<void> {
  try {
    await api('POST', '/data/import', { filename: f.filename, node: f.node });
    $('backup-result').textContent = `${f.filename} imported`;
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin('Your session has ended; log in again.');
    $('backup-result').textContent = `${f.filename} not imported: ${(err as Error).message}`;
  }
  await refresh();
}

function fillBanned(list: { data: BanRow[]; meta: { count: number } }): void {
  fillRows(
    'banned',
    list.data,
    (b) => `${b.as}:${b.who}`,
    (b) => [b.as, b.who, b.reason, b.by, b.until],
    (b) => [apiButton('Unban', 'kick', 'DELETE', `/banned/${encodeURIComponent(b.as)}/${encodeURIComponent(b.who)}`)],
  );
  $('banned-count').textContent = `${list.meta.count} in total`;
}

async function deleteUser(username: string): Promise<void> {
  try {
    await api('DELETE', `/users/${encodeURIComponent(username)}`);
    $('users-result').textContent = `${username} deleted`;
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin('Your session has ended; log in again.');
    $('users-result').textContent = `${username} not deleted: ${(err as Error).message}`;
  }
  await refresh();
}

function fillTopicMetrics(list: TopicMetric[]): void {
  const n = (m: TopicMetric, k: string): number => m.metrics[k] ?? 0;
  fillRows(
    'topic-metrics',
    list,
    (m) => m.topic,
    (m) => [m.topic, n(m, 'messages.in.count'), n(m, 'messages.out.count'), n(m, 'messages.dropped.count'), n(m, 'messages.in.rate'), n(m, 'messages.out.rate')],
    (m) => [apiButton('Reset', 'view', 'PUT', '/mqtt/topic_metrics', { action: 'reset', topic: m.topic }), apiButton('Delete', 'kick', 'DELETE', `/mqtt/topic_metrics/${encodeURIComponent(m.topic)}`)],
  );
}

interface QueuedMessage {
  topic: string;
  qos: number;
  payload: string;
  publish_at: number;
  from_clientid: string;
}

/** A payload as text when it is UTF-8, else its size. */
function payloadText(base64: string): string {
  const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
  try {
    return JSON.stringify(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return `(${bytes.length} bytes, not text)`;
  }
}

/** The first in-flight and queued messages of a client (the member holding its session answers). */
async function viewMessages(clientid: string): Promise<void> {
  const path = `/clients/${encodeURIComponent(clientid)}`;
  const [inflight, queued] = await Promise.all([
    api<{ data: QueuedMessage[] }>('GET', `${path}/inflight_messages?limit=20&max_payload_bytes=4KB`),
    api<{ data: QueuedMessage[] }>('GET', `${path}/mqueue_messages?limit=20&max_payload_bytes=4KB`),
  ]);
  const lines = (title: string, list: QueuedMessage[]): string =>
    `${title}: ${list.length === 0 ? 'none' : ''}\n` + list.map((m) => `  ${m.topic}  QoS ${m.qos}  ${payloadText(m.payload)}  from ${m.from_clientid}, ${new Date(m.publish_at).toLocaleTimeString()}\n`).join('');
  const pre = $('client-messages');
  pre.hidden = false;
  pre.textContent = `${clientid}\n${lines('in flight (sent, not acknowledged)', inflight.data)}${lines('queued', queued.data)}`;
}

/** The last 8 KB of the biggest file of a trace (the node where its client is). */
async function viewTrace(t: TraceInfo): Promise<void> {
  const [node, size] = Object.entries(t.log_size).sort((a, b) => b[1] - a[1])[0] ?? [undefined, 0];
  const pre = $('trace-log');
  pre.hidden = false;
  if (node === undefined || size === 0) {
    pre.textContent = `${t.name}: nothing traced yet`;
    return;
  }
  const r = await api<{ items: string }>('GET', `/trace/${encodeURIComponent(t.name)}/log?node=${encodeURIComponent(node)}&position=${Math.max(0, size - 8192)}&bytes=8192`);
  pre.textContent = `${t.name} on ${node}:\n${r.items}`;
}

/** A file from the API, fetched with the token and handed to the browser under `name`. */
async function download(path: string, name: string): Promise<void> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(`${API}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) return;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

/** The zip of every node's file of a trace. */
const downloadTrace = (name: string): Promise<void> => download(`/trace/${encodeURIComponent(name)}/download`, `${name}.zip`);

function fillTraces(list: TraceInfo[]): void {
  const path = (t: TraceInfo): string => `/trace/${encodeURIComponent(t.name)}`;
  fillRows(
    'traces',
    list,
    (t) => t.name,
    (t) => [t.name, t.type, String(t[t.type] ?? ''), t.status, `${Object.values(t.log_size).reduce((a, b) => a + b, 0)} bytes`],
    (t) => [
      button('View', 'view', () => void viewTrace(t).catch(() => undefined)),
      button('Download', 'download', () => void downloadTrace(t.name).catch(() => undefined)),
      ...(t.status !== 'stopped' ? [apiButton('Stop', 'kick stop', 'PUT', `${path(t)}/stop`)] : []),
      apiButton('Delete', 'kick', 'DELETE', path(t)),
    ],
  );
}

// ---- state and refresh ----

let timer: number | undefined;
let chartTimer: number | undefined;

/** Every refresh is tracked: a password change waits for those on their way (it ends their token). */
function track(p: Promise<void>): Promise<void> {
  refreshing.add(p);
  void p.finally(() => refreshing.delete(p));
  return p;
}

function refresh(): Promise<void> {
  return track(refreshNow());
}

function refreshChart(): Promise<void> {
  return track(refreshChartNow());
}

async function refreshNow(): Promise<void> {
  try {
    const filter = $<HTMLInputElement>('client-filter').value.trim();
    const [cluster, nodes, clients, subs, retained, delayed, traces, alarms, alarmHistory, topicMetrics, chain, sources, users, listeners, banned, backups] = await Promise.all([
      api<{ name: string; self: string }>('GET', '/cluster'),
      api<NodeInfo[]>('GET', '/nodes'),
      api<{ data: Client[]; meta: { count: number } }>('GET', `/clients?limit=50${filter ? `&like_clientid=${encodeURIComponent(filter)}` : ''}`),
      api<{ data: Subscription[]; meta: { count: number } }>('GET', '/subscriptions?limit=50'),
      api<{ data: Retained[]; meta: { count?: number } }>('GET', '/mqtt/retainer/messages?limit=60'),
      api<{ data: Delayed[]; meta: { count: number } }>('GET', '/mqtt/delayed/messages?limit=50'),
      api<TraceInfo[]>('GET', '/trace'),
      api<{ data: Alarm[]; meta: { count: number } }>('GET', '/alarms?activated=true&limit=50'),
      api<{ data: Alarm[]; meta: { count: number } }>('GET', '/alarms?activated=false&limit=1000'),
      api<TopicMetric[]>('GET', '/mqtt/topic_metrics'),
      api<AccessEntry[]>('GET', '/authentication'),
      api<{ sources: AccessEntry[] }>('GET', '/authorization/sources'),
      api<DashboardUser[]>('GET', '/users'),
      api<ListenerRow[]>('GET', '/listeners'),
      api<{ data: BanRow[]; meta: { count: number } }>('GET', '/banned?limit=100'),
      api<{ data: BackupFile[]; meta: { count: number } }>('GET', '/data/files?limit=20'),
    ]);
    $('cluster-name').textContent = cluster.name;
    $('served-by').textContent = `served by ${cluster.self}`;
    drawTopology(nodes);
    fillClients(clients);
    fillSubscriptions(subs);
    fillRetained(retained);
    fillDelayed(delayed);
    fillTraces(traces);
    fillAlarms(alarms, alarmHistory);
    fillTopicMetrics(topicMetrics);
    fillAccess(chain, sources);
    fillUsers(users);
    fillListeners(listeners);
    fillBanned(banned);
    fillBackups(backups);
  } catch (err) {
    if (err instanceof Unauthorized) showLogin('Your session has ended; log in again.');
  }
}

async function refreshChartNow(): Promise<void> {
  try {
    drawChart(await api<Sample[]>('GET', '/monitor?latest=300'));
  } catch (err) {
    if (err instanceof Unauthorized) showLogin('Your session has ended; log in again.');
  }
}

async function kickClient(clientid: string): Promise<void> {
  try {
    await api('DELETE', `/clients/${encodeURIComponent(clientid)}`);
  } catch {
    // Already gone: the refresh shows it.
  }
  await refresh();
}

function stopTimers(): void {
  window.clearInterval(timer);
  window.clearInterval(chartTimer);
}

function showLogin(message = ''): void {
  stopTimers();
  sessionStorage.removeItem(TOKEN_KEY);
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
}

function showApp(): void {
  $('login').hidden = true;
  $('app').hidden = false;
  const warning = sessionStorage.getItem(`${TOKEN_KEY}.warning`);
  $('warning').hidden = !warning;
  $('warning').textContent = warning ? `${warning} (or under Dashboard users below)` : '';
  void refresh();
  void refreshChart();
  stopTimers();
  timer = window.setInterval(() => void refresh(), REFRESH_MS);
  chartTimer = window.setInterval(() => void refreshChart(), 5000);
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const username = $<HTMLInputElement>('username').value;
  const password = $<HTMLInputElement>('password').value;
  void (async () => {
    try {
      const r = await api<{ token: string; warning?: string }>('POST', '/login', { username, password });
      sessionStorage.setItem(TOKEN_KEY, r.token);
      if (r.warning) sessionStorage.setItem(`${TOKEN_KEY}.warning`, r.warning);
      else sessionStorage.removeItem(`${TOKEN_KEY}.warning`);
      showApp();
    } catch (err) {
      $('login-error').textContent = err instanceof Unauthorized ? 'Wrong username or password.' : `Login failed: ${(err as Error).message}`;
    }
  })();
});

$('logout').addEventListener('click', () => {
  void (async () => {
    const username = me();
    try {
      if (username !== undefined) await api('POST', '/logout', { username });
    } catch {
      // The token is dropped below either way.
    }
    showLogin();
  })();
});

$('publish-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = {
    topic: $<HTMLInputElement>('pub-topic').value,
    payload: $<HTMLInputElement>('pub-payload').value,
    qos: Number($<HTMLSelectElement>('pub-qos').value),
    retain: $<HTMLInputElement>('pub-retain').checked,
  };
  void (async () => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    // Read as it is: 202 (no subscriber) and 400 answer with a reason code, not an error.
    const res = await fetch(`${API}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    if (res.status === 401) return showLogin('Your session has ended; log in again.');
    const r = (await res.json()) as { id?: string; message?: string; reason_code?: number };
    $('pub-result').textContent = res.status === 200 ? `published, id ${r.id ?? ''}` : `${res.status}: ${r.message ?? ''}${r.reason_code !== undefined ? ` (reason code ${r.reason_code})` : ''}`;
    await refresh();
  })();
});

$('passwd-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const username = me();
  const oldPwd = $<HTMLInputElement>('old-pwd').value;
  const newPwd = $<HTMLInputElement>('new-pwd').value;
  if (username === undefined) return showLogin();
  void (async () => {
    // No refresh may be on its way with the token the change ends: it would come back refused.
    stopTimers();
    await Promise.allSettled([...refreshing]);
    try {
      await api('POST', `/users/${encodeURIComponent(username)}/change_pwd`, { old_pwd: oldPwd, new_pwd: newPwd });
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin('Your session has ended; log in again.');
      $('users-result').textContent = `password not changed: ${(err as Error).message}`;
      showApp();
      return;
    }
    // The change ended every token of this user, this page's too: log in again with the new one.
    $<HTMLInputElement>('old-pwd').value = '';
    $<HTMLInputElement>('new-pwd').value = '';
    try {
      const r = await api<{ token: string }>('POST', '/login', { username, password: newPwd });
      sessionStorage.setItem(TOKEN_KEY, r.token);
      sessionStorage.removeItem(`${TOKEN_KEY}.warning`);
      showApp();
      $('users-result').textContent = `password of ${username} changed; its other sessions have ended`;
    } catch {
      showLogin('Password changed; log in with the new one.');
    }
  })();
});

/**
 * A form that calls the API: `act` does the calls and says what was done; a failure says why in
 * the same place; the tables refresh after either.
 */
function onSubmit(form: string, result: string, act: () => Promise<string>, failed: (why: string) => string): void {
  $(form).addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        $(result).textContent = await act();
      } catch (err) {
        if (err instanceof Unauthorized) return showLogin('Your session has ended; log in again.');
        $(result).textContent = failed((err as Error).message);
      }
      await refresh();
    })();
  });
}

onSubmit(
  'user-form',
  'users-result',
  async () => {
    const body = { username: $<HTMLInputElement>('user-name').value, password: $<HTMLInputElement>('user-password').value, description: $<HTMLInputElement>('user-description').value };
    await api('POST', '/users', body);
    for (const id of ['user-name', 'user-password', 'user-description']) $<HTMLInputElement>(id).value = '';
    return `${body.username} added`;
  },
  (why) => `${$<HTMLInputElement>('user-name').value} not added: ${why}`,
);

onSubmit(
  'trace-form',
  'trace-result',
  async () => {
    const type = $<HTMLSelectElement>('trace-type').value;
    const body = { name: $<HTMLInputElement>('trace-name').value, type, [type]: $<HTMLInputElement>('trace-filter').value };
    await api('POST', '/trace', body);
    return `trace ${body.name} started on every node`;
  },
  (why) => `not started: ${why}`,
);

onSubmit(
  'metrics-form',
  'metrics-result',
  async () => {
    const topic = $<HTMLInputElement>('metrics-topic').value;
    await api('POST', '/mqtt/topic_metrics', { topic });
    return `${topic} is metered on every node`;
  },
  (why) => `not metered: ${why}`,
);

onSubmit(
  'backup-form',
  'backup-result',
  async () => {
    const r = await api<{ filename: string; node: string }>('POST', '/data/export');
    return `${r.filename} written on ${r.node}`;
  },
  (why) => `not exported: ${why}`,
);

onSubmit(
  'upload-form',
  'backup-result',
  async () => {
    const file = $<HTMLInputElement>('upload-file').files?.[0];
    if (!file) return 'choose a file first';
    // The form's multipart body, as EMQX's dashboard sends it; the login token makes it acceptable.
    const form = new FormData();
    form.append('filename', file, file.name);
    const token = sessionStorage.getItem(TOKEN_KEY);
    const res = await fetch(`${API}/data/files`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: form });
    if (res.status === 401) throw new Unauthorized();
    if (!res.ok) throw new Error(((await res.json()) as { message?: string }).message ?? `${res.status}`);
    $<HTMLInputElement>('upload-file').value = '';
    return `${file.name} uploaded`;
  },
  (why) => `not uploaded: ${why}`,
);

onSubmit(
  'ban-form',
  'ban-result',
  async () => {
    const hours = Number($<HTMLInputElement>('ban-hours').value);
    const body = {
      as: $<HTMLSelectElement>('ban-as').value,
      who: $<HTMLInputElement>('ban-who').value,
      reason: $<HTMLInputElement>('ban-reason').value,
      ...(hours > 0 ? { until: new Date(Date.now() + hours * 3_600_000).toISOString() } : {}),
    };
    await api('POST', '/banned', body);
    for (const id of ['ban-who', 'ban-reason']) $<HTMLInputElement>(id).value = '';
    return `${body.who} banned on every node`;
  },
  (why) => `not banned: ${why}`,
);

$('authz-clean').addEventListener('click', () => {
  void (async () => {
    try {
      await api('DELETE', '/authorization/cache');
      $('authz-result').textContent = 'every client on every node asks the sources again';
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin('Your session has ended; log in again.');
      $('authz-result').textContent = `not cleaned: ${(err as Error).message}`;
    }
  })();
});

$('alarm-history-clear').addEventListener('click', () => {
  void api('DELETE', '/alarms').catch(() => undefined).then(refresh);
});

$('client-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void refresh();
});

if (sessionStorage.getItem(TOKEN_KEY)) showApp();
else showLogin();
