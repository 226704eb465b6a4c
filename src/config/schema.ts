// Turns the merged configuration tree (defaults < file < environment) into the typed, frozen
// Config, collecting every problem rather than stopping at the first. Pure: no files, no sockets.
import { isAbsolute, resolve } from 'node:path';
import { isIP } from 'node:net';
import type { Config, ConfigProblem, Paths } from './types.js';
import { parseNodeName } from '../node/name.js';
import { parseBytesize, parseDuration, parseRate, formatDuration } from './duration.js';
import { suggest } from './suggest.js';
import { startProblems } from './start-checks.js';
import { ROOT_FIELDS, NODE_FIELDS, CLUSTER_FIELDS } from './schema/fields.js';
import type { Field, FieldType } from './schema/fields.js';

export { DEFAULT_DIST_NET_TICKTIME_MS, DEFAULT_K8S_TOKEN_FILE, DEFAULT_K8S_CACERT_FILE, isKnownKey, fieldsAt } from './schema/fields.js';

/** Where a key's value came from: a position in a file, or an environment variable. */
export type Origin = Pick<ConfigProblem, 'file' | 'line' | 'column' | 'env'>;

export interface ValidateOptions {
  readonly paths: Paths;
  /** For `${VAR}` at the start of file paths (EMQX expands those). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the value at `path` came from; undefined when unknown (e.g. a default). */
  readonly originOf?: (path: readonly string[]) => Origin | undefined;
  /** The text of the environment variable that set `path`, if one did. */
  readonly envTextOf?: (path: readonly string[]) => string | undefined;
}

/**
 * Kinds whose value is text. Set from the environment, they take the variable's text as it is:
 * HOCON would read `EMQX_NODE__COOKIE=007` as the number 7 and `...=true` as a boolean.
 */
const TEXT_KINDS: ReadonlySet<FieldType['kind']> = new Set(['string', 'node_name', 'dir', 'file', 'url', 'dns_server']);

export interface ValidationResult {
  /** Present when there are no problems. Frozen. */
  readonly config?: Config;
  readonly problems: ConfigProblem[];
  /** Roots other than node and cluster (listeners, dashboard, ...): accepted, not used. */
  readonly ignoredRoots: string[];
}

type Converted = { ok: true; value: unknown } | { ok: false; reason: string };

/** How a value is named in messages: strings quoted as EMQX operators write them. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function listOf(v: unknown): string[] | undefined {
  if (typeof v === 'string') {
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((s) => s.trim());
  return undefined;
}

function checkUrl(u: string): string | undefined {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return `${showValue(u)} is not a URL (expected e.g. http://127.0.0.1:2379)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${showValue(u)} must be an http:// or https:// URL`;
  }
  return undefined;
}

/** A leading `${VAR}` or `$VAR` in a path, expanded as EMQX does for certificate files. */
export function expandLeadingVar(
  value: string,
  env: ValidateOptions['env'],
  paths: Pick<Paths, 'etc_dir' | 'log_dir'>,
): { ok: true; value: string } | { ok: false; reason: string } {
  const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(value);
  if (!m) return { ok: true, value };
  const name = (m[1] ?? m[2])!;
  const known: Record<string, string> = { EMQX_ETC_DIR: paths.etc_dir, EMQX_LOG_DIR: paths.log_dir };
  const replacement = env[name] ?? known[name];
  if (replacement === undefined) {
    return { ok: false, reason: `${showValue(value)} refers to the environment variable ${name}, which is not set` };
  }
  return { ok: true, value: replacement + value.slice(m[0].length) };
}

function convert(type: FieldType, v: unknown, opts: ValidateOptions): Converted {
  const bad = (expected: string): Converted => ({ ok: false, reason: `${showValue(v)} is not ${expected}` });
  switch (type.kind) {
    case 'string':
      if (typeof v === 'string') return { ok: true, value: v };
      // HOCON reads `cookie = 123456` as a number; EMQX takes it as the string it looks like.
      if (typeof v === 'number') return { ok: true, value: String(v) };
      return bad('a string');
    case 'enum': {
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s === 'string' && type.values.includes(s)) return { ok: true, value: s };
      const near = typeof s === 'string' ? suggest(s, type.values) : undefined;
      return {
        ok: false,
        reason: `${showValue(v)} is not one of ${type.values.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`,
      };
    }
    case 'boolean':
      if (typeof v === 'boolean') return { ok: true, value: v };
      if (v === 'true' || v === 'false') return { ok: true, value: v === 'true' };
      return bad('a boolean (true or false)');
    case 'integer': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) return bad(`an integer in ${type.min}..${type.max}`);
      if (n < type.min || n > type.max) return bad(`in ${type.min}..${type.max}`);
      return { ok: true, value: n };
    }
    case 'duration': {
      const d = parseDuration(v, type.integerUnitMs);
      if (!d.ok) {
        const unit = type.integerUnitMs === 1000 ? 'seconds' : 'milliseconds';
        return { ok: false, reason: `${showValue(v)} is not a duration: ${d.reason} (a bare integer counts ${unit})` };
      }
      if (d.value < type.minMs) return { ok: false, reason: `${showValue(v)} is too short: at least ${formatDuration(type.minMs)}` };
      return { ok: true, value: d.value };
    }
    case 'node_name': {
      if (typeof v !== 'string') return bad('a node name (name@host)');
      try {
        parseNodeName(v);
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
      return { ok: true, value: v };
    }
    case 'node_list': {
      const names = listOf(v);
      if (names === undefined) return bad('an array of node names or one comma-separated string');
      const reasons: string[] = [];
      for (const n of names) {
        try {
          parseNodeName(n);
        } catch (err) {
          reasons.push(`seed ${showValue(n)}: ${(err as Error).message}`);
        }
      }
      if (reasons.length > 0) return { ok: false, reason: reasons.join('; ') };
      return { ok: true, value: [...new Set(names)] };
    }
    case 'url_list': {
      const urls = listOf(v);
      if (urls === undefined) return bad('a comma-separated list of URLs');
      const reasons = urls.map(checkUrl).filter((r): r is string => r !== undefined);
      if (reasons.length > 0) return { ok: false, reason: reasons.join('; ') };
      return { ok: true, value: urls };
    }
    case 'url': {
      if (typeof v !== 'string') return bad('a URL');
      const reason = checkUrl(v);
      return reason === undefined ? { ok: true, value: v } : { ok: false, reason };
    }
    case 'dir': {
      if (typeof v !== 'string' || v === '') return bad('a directory path');
      return { ok: true, value: isAbsolute(v) ? v : resolve(opts.paths.root, v) };
    }
    case 'file': {
      if (typeof v !== 'string' || v === '') return bad('a file path');
      const expanded = expandLeadingVar(v, opts.env, opts.paths);
      if (!expanded.ok) return expanded;
      return { ok: true, value: isAbsolute(expanded.value) ? expanded.value : resolve(opts.paths.root, expanded.value) };
    }
    case 'dns_server':
      return convertDnsServer(v);
    case 'word_or': {
      if (typeof v === 'string' && Object.hasOwn(type.words, v.trim())) return { ok: true, value: type.words[v.trim()] };
      const r = convert(type.of, v, opts);
      if (r.ok) return r;
      return { ok: false, reason: `${r.reason}, or ${Object.keys(type.words).join(' or ')}` };
    }
    case 'number': {
      const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < type.min || n > type.max) return bad(`a number in ${type.min}..${type.max}`);
      return { ok: true, value: n };
    }
    case 'percent': {
      const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v) : null;
      const n = m ? Number(m[1]) : NaN;
      if (!(n >= 0 && n <= 100)) return bad('a percentage from 0% to 100%, written like "80%"');
      return { ok: true, value: n / 100 };
    }
    case 'bytesize': {
      const b = parseBytesize(v);
      return b.ok ? b : { ok: false, reason: `${showValue(v)}: ${b.reason}` };
    }
    case 'rate': {
      const r = parseRate(v, type.bytes);
      return r.ok ? r : { ok: false, reason: `${showValue(v)}: ${r.reason}` };
    }
    case 'bind':
      return convertBind(v);
    case 'string_list': {
      const items = listOf(v);
      if (items === undefined) return bad('an array of strings or one comma-separated string');
      const allowed = type.values;
      const wrong = allowed ? items.filter((x) => !allowed.includes(x)) : [];
      if (wrong.length > 0) return { ok: false, reason: `${wrong.map(showValue).join(', ')} not among ${allowed!.join(', ')}` };
      return { ok: true, value: items };
    }
    case 'custom':
      return type.convert(v, (path) => convert({ kind: 'file' }, path, opts));
    case 'object':
    case 'map':
    case 'emqx':
      return { ok: true, value: v };
  }
}

/** A listener's `bind`: `1883`, `"0.0.0.0:1883"`, `"[::]:1883"`; normalised to `ip:port` / `[ip]:port`. */
function convertBind(v: unknown): Converted {
  const bad: Converted = { ok: false, reason: `${showValue(v)} is not a listen address (expected a port such as 1883, or ip:port such as "0.0.0.0:1883" or "[::1]:1883")` };
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (text === undefined) return bad;
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]*):)?(\d{1,5})$/.exec(text);
  if (!m) return bad;
  const port = Number(m[3]);
  if (port > 65535) return { ok: false, reason: `${showValue(v)}: port ${port} is not in 0..65535` };
  const v6 = m[1];
  const v4 = m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2];
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) return { ok: false, reason: `${showValue(v)}: '${v6}' is not an IPv6 address` };
    return { ok: true, value: `[${v6}]:${port}` };
  }
  if (isIP(v4) !== 4) return { ok: false, reason: `${showValue(v)}: '${v4}' is not an IPv4 address (write IPv6 addresses in brackets: "[::1]:${port}")` };
  return { ok: true, value: `${v4}:${port}` };
}

function convertDnsServer(v: unknown): Converted {
  const bad: Converted = {
    ok: false,
    reason: `${showValue(v)} is not a DNS server address (expected host:port, e.g. 127.0.0.1:53 or [::1]:53)`,
  };
  if (typeof v !== 'string') return bad;
  const text = v.trim();
  let host: string;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const hostPort = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
    if (isIP(host) !== 6) return bad;
  } else if (isIP(text) === 6) {
    host = text;
  } else if (hostPort) {
    host = hostPort[1]!;
    if (hostPort[2] !== undefined) port = Number(hostPort[2]);
    if (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) return bad;
  } else {
    return bad;
  }
  if (port < 1 || port > 65535) return bad;
  return { ok: true, value: isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/** A problem at `path`, placed at the key's origin, else at the nearest enclosing key that has one. */
export function problemAt(path: readonly string[], message: string, originOf?: (path: readonly string[]) => Origin | undefined): ConfigProblem {
  let origin: Origin = {};
  for (let n = path.length; n > 0; n--) {
    const o = originOf?.(path.slice(0, n));
    if (o !== undefined) {
      origin = o;
      break;
    }
  }
  const key = path.join('.');
  return { ...origin, key, message: `${key}: ${message}` };
}

class Collector {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly opts: ValidateOptions) {}

  add(path: readonly string[], message: string): void {
    this.problems.push(problemAt(path, message, this.opts.originOf));
  }
}

function unknownKeyMessage(path: readonly string[], siblings: readonly string[]): string {
  const key = path[path.length - 1]!;
  const parent = path.slice(0, -1);
  const near = suggest(key, siblings);
  let nearPath = near !== undefined ? [...parent, near].join('.') : undefined;
  if (nearPath === undefined && parent.length === 1) {
    // `node.discovery_strategy`: the right key under the other root.
    const other = parent[0] === 'node' ? 'cluster' : 'node';
    const fields = other === 'node' ? NODE_FIELDS : CLUSTER_FIELDS;
    if (Object.hasOwn(fields, key)) nearPath = `${other}.${key}`;
  }
  return `unknown key${nearPath !== undefined ? ` (did you mean ${nearPath}?)` : ''}`;
}

/** Checks an object against its fields; returns the converted values with defaults filled in. */
function walkObject(
  fields: Readonly<Record<string, Field>>,
  value: Record<string, unknown>,
  path: readonly string[],
  c: Collector,
  opts: ValidateOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) {
      const visible = Object.entries(fields)
        .filter(([, f]) => f.aliasOf === undefined)
        .map(([k]) => k);
      c.add([...path, key], unknownKeyMessage([...path, key], visible));
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    if (field.aliasOf !== undefined || field.type.kind === 'emqx') continue;
    const aliases = Object.entries(fields)
      .filter(([, f]) => f.aliasOf === key)
      .map(([k]) => k);
    let rawKey = key;
    let raw = value[key];
    for (const alias of aliases) {
      if (raw == null && value[alias] != null) {
        raw = value[alias];
        rawKey = alias;
      }
    }
    const at = [...path, rawKey];
    if (field.type.kind === 'map') {
      const entries: Record<string, unknown> = {};
      const given = raw ?? {};
      if (!isPlainObject(given)) {
        c.add(at, `${showValue(raw)} is not an object (expected named entries, e.g. ${key}.default { ... })`);
        continue;
      }
      const names = new Set([...Object.keys(field.type.defaults ?? {}), ...Object.keys(given)]);
      for (const name of names) {
        const own = given[name];
        if (own != null && !isPlainObject(own)) {
          c.add([...at, name], `${showValue(own)} is not an object (expected { ... } with keys ${Object.keys(field.type.fields).join(', ')})`);
          continue;
        }
        const merged = { ...(field.type.defaults?.[name] ?? {}), ...((own as Record<string, unknown> | undefined) ?? {}) };
        entries[name] = { ...walkObject(field.type.fields, merged, [...at, name], c, opts), ...(own == null ? { implicit: true } : {}) };
      }
      out[key] = entries;
      continue;
    }
    if (field.type.kind === 'object') {
      if (raw == null && field.type.optionalBlock) continue;
      const obj = raw ?? {};
      if (!isPlainObject(obj)) {
        c.add(at, `${showValue(raw)} is not an object (expected { ... } with keys ${Object.keys(field.type.fields).join(', ')})`);
        continue;
      }
      out[key] = walkObject(field.type.fields, obj, at, c, opts);
      continue;
    }
    if (raw == null) {
      if (field.required) {
        c.add(at, 'is required but not set');
        continue;
      }
      if (field.default === undefined) continue;
      raw = field.default;
    }
    const envText = typeof raw !== 'string' && TEXT_KINDS.has(field.type.kind) ? opts.envTextOf?.(at) : undefined;
    if (envText !== undefined) raw = envText;
    const r = convert(field.type, raw, opts);
    if (r.ok) out[key] = r.value;
    else c.add(at, r.reason);
  }
  return out;
}

/** Freezes an object and everything reachable from it (Buffers excepted: they cannot be frozen). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || ArrayBuffer.isView(value)) {
    return value;
  }
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return Object.freeze(value);
}

function crossFieldChecks(node: Record<string, unknown>, cluster: Record<string, unknown>, c: Collector): void {
  const name = node.name as string | undefined;
  const strategy = cluster.discovery_strategy as string | undefined;
  const dns = cluster.dns as Record<string, unknown> | undefined;
  const recordType = dns?.record_type as string | undefined;
  if (name !== undefined && strategy === 'dns' && (recordType === 'a' || recordType === 'aaaa')) {
    const kind = parseNodeName(name).hostKind;
    const want = recordType === 'a' ? 'ipv4' : 'ipv6';
    if (kind !== want) {
      c.add(
        ['node', 'name'],
        `${showValue(name)}: with cluster.discovery_strategy = dns and cluster.dns.record_type = ${recordType}, the host of the node name must be an ${want === 'ipv4' ? 'IPv4' : 'IPv6'} address (peers are found as <name>@<ip>)`,
      );
    }
  }
  const etcd = cluster.etcd as Record<string, unknown> | undefined;
  if (strategy === 'etcd' && Array.isArray(etcd?.server) && etcd.server.length === 0) {
    c.add(['cluster', 'etcd', 'server'], 'is required when cluster.discovery_strategy = etcd (e.g. "http://127.0.0.1:2379")');
  }
  if (node.cookie === '') c.add(['node', 'cookie'], 'must not be empty');
  for (const p of startProblems(node, cluster)) c.add(p.path, p.message);
}

/** A clearing watermark above its raising one: the alarm would never clear. */
function lowAboveHigh(c: Collector, section: Record<string, unknown> | undefined, at: readonly string[], low: string, high: string): void {
  const l = section?.[low];
  const h = section?.[high];
  if (typeof l !== 'number' || typeof h !== 'number' || l <= h) return;
  const pct = (v: number): string => showAs({ kind: 'percent' }, v) as string;
  c.add([...at, low], `${pct(l)} is above ${[...at, high].join('.')} (${pct(h)}): the alarm would never clear`);
}

/**
 * Two enabled listeners cannot share a port on overlapping addresses. A listener that exists
 * only by default (tcp:default on 1883, ...) yields to one from the file that wants its port:
 * it is turned off and `shadowed_by` names the other (EMQX would fail to start instead).
 */
function listenerChecks(listeners: Record<string, Record<string, Record<string, unknown>>> | undefined, c: Collector): void {
  const all = Object.entries(listeners ?? {}).flatMap(([type, byName]) => Object.entries(byName ?? {}).map(([name, l]) => ({ type, name, l })));
  // Listeners from the file claim their ports first.
  all.sort((a, b) => Number(a.l.implicit === true) - Number(b.l.implicit === true));
  const taken: Array<{ bind: string; id: string }> = [];
  const split = (bind: string): [host: string, port: string] => [bind.slice(0, bind.lastIndexOf(':')), bind.slice(bind.lastIndexOf(':') + 1)];
  // [::] takes the port on every address (dual stack); 0.0.0.0 on every IPv4 address.
  const covers = (a: string, b: string): boolean => a === b || a === '[::]' || (a === '0.0.0.0' && !b.startsWith('['));
  for (const { type, name, l } of all) {
    if (l.enable !== true || typeof l.bind !== 'string') continue;
    const [host, port] = split(l.bind);
    const clash = taken.find((t) => {
      const [oHost, oPort] = split(t.bind);
      return port === oPort && port !== '0' && (covers(host, oHost) || covers(oHost, host));
    });
    if (clash === undefined) taken.push({ bind: l.bind, id: `${type}:${name}` });
    else if (l.implicit === true) {
      l.enable = false;
      l.shadowed_by = clash.id;
    } else c.add(['listeners', type, name, 'bind'], `${showValue(l.bind)} is already taken by listener ${clash.id} (${clash.bind})`);
  }
}

/** In reading order: by file and position, then those from the environment, then the rest. */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const rank = (p: ConfigProblem): number => (p.file !== undefined ? 0 : p.env !== undefined ? 1 : 2);
  return [...problems].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      (a.env ?? '').localeCompare(b.env ?? ''),
  );
}

/** Validates the merged tree and builds the Config (without `tls`, which the loader adds). */
export function validateConfig(tree: Readonly<Record<string, unknown>>, opts: ValidateOptions): ValidationResult {
  const c = new Collector(opts);
  const ignoredRoots = Object.keys(tree).filter((k) => !Object.hasOwn(ROOT_FIELDS, k));
  const out = walkObject(ROOT_FIELDS, Object.fromEntries(Object.entries(tree).filter(([k]) => Object.hasOwn(ROOT_FIELDS, k))), [], c, opts);
  const node = (out.node ?? {}) as Record<string, unknown>;
  const cluster = (out.cluster ?? {}) as Record<string, unknown>;
  crossFieldChecks(node, cluster, c);
  listenerChecks(out.listeners as Record<string, Record<string, Record<string, unknown>>>, c);
  const sysmon = out.sysmon as { os?: Record<string, unknown>; vm?: Record<string, unknown> } | undefined;
  lowAboveHigh(c, sysmon?.os, ['sysmon', 'os'], 'cpu_low_watermark', 'cpu_high_watermark');
  lowAboveHigh(c, sysmon?.vm, ['sysmon', 'vm'], 'process_low_watermark', 'process_high_watermark');
  const mqtt = out.mqtt as Record<string, unknown> | undefined;
  if (mqtt && mqtt.shared_subscription_strategy === undefined) {
    mqtt.shared_subscription_strategy = (out.broker as Record<string, unknown> | undefined)?.shared_subscription_strategy ?? 'round_robin';
  }
  if (c.problems.length > 0) return { problems: sortProblems(c.problems), ignoredRoots };
  const config = { ...out, node, cluster, paths: opts.paths } as unknown as Config;
  return { config: deepFreeze(config), problems: [], ignoredRoots };
}

const BROKER_ROOTS = ['listeners', 'mqtt', 'broker', 'retainer', 'delayed', 'rewrite', 'topic_metrics', 'auto_subscribe', 'sys_topics', 'slow_subs', 'dashboard', 'api_key', 'authentication', 'authorization', 'flapping_detect', 'alarm', 'sysmon', 'conn_congestion', 'overload_protection'] as const;

/** A converted value back as an operator writes it: durations as `15s`, Infinity as `infinity`. */
function showAs(type: FieldType, v: unknown): unknown {
  switch (type.kind) {
    case 'object':
    case 'map': {
      if (!isPlainObject(v)) return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === 'implicit' || k === 'tls' || k === 'shadowed_by' || k === 'off_reason') continue;
        const f = type.kind === 'object' ? type.fields[k] : undefined;
        out[k] = type.kind === 'map' ? showAs({ kind: 'object', fields: type.fields }, x) : f ? showAs(f.type, x) : x;
      }
      return out;
    }
    case 'word_or': {
      const word = Object.entries(type.words).find(([, w]) => w === v)?.[0];
      return word ?? showAs(type.of, v);
    }
    case 'duration':
      return typeof v === 'number' ? formatDuration(v) : v;
    case 'percent':
      return typeof v === 'number' ? `${Math.round(v * 10000) / 100}%` : v;
    case 'rate':
      return v === Number.POSITIVE_INFINITY ? 'infinity' : typeof v === 'number' ? `${v}/s` : v;
    case 'string_list':
      return Array.isArray(v) ? [...(v as unknown[])] : v;
    default:
      return v;
  }
}

/** The effective settings as an operator writes them (durations as `24h`), for `conf show`. */
export function effectiveTree(config: Config): Record<string, unknown> {
  const { node, cluster } = config;
  const shown: Record<string, unknown> = {};
  for (const root of BROKER_ROOTS) {
    const field = ROOT_FIELDS[root];
    if (field !== undefined && (config as unknown as Record<string, unknown>)[root] !== undefined) {
      shown[root] = showAs(field.type, (config as unknown as Record<string, unknown>)[root]);
    }
  }
  const { log } = config;
  if (log !== undefined) {
    // What the node applies of `log`, in EMQX's 5.1 keys (the path resolved).
    const { file, console } = log;
    shown.log = {
      console: { level: console.level, enable: console.enable, ...(console.formatter ? { formatter: console.formatter } : {}) },
      file: { level: file.level, path: file.path, rotation_size: file.rotationSize ?? 'infinity', rotation_count: file.rotationCount, formatter: file.formatter },
    };
  }
  return {
    ...shown,
    node: { ...node, dist_net_ticktime: formatDuration(node.dist_net_ticktime) },
    cluster: {
      ...cluster,
      autoclean: formatDuration(cluster.autoclean),
      static: { seeds: [...cluster.static.seeds] },
      etcd: { ...cluster.etcd, server: cluster.etcd.server.join(','), node_ttl: formatDuration(cluster.etcd.node_ttl) },
    },
  };
}
