// Reads etc/emqx.conf, applies the EMQX_* environment and validates the result into a Config.
// The one place config touches the file system; everything it calls is pure.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Config, ConfigProblem, DistTlsOptions, Paths } from './types.js';
import { ConfigError } from './types.js';
import { parseHoconFile, parseHoconValue, HoconError } from './hocon/index.js';
import { loadSslDistFile } from './ssl-dist.js';
import { withDashboardTlsDigest, withListenerTls } from './listener-tls.js';
import { envOverrides } from './env.js';
import type { EnvOverride } from './env.js';
import { validateConfig, deepFreeze, effectiveTree, problemAt, sortProblems } from './schema.js';
import type { Origin } from './schema.js';
import { redactTree } from './redact.js';
import { readLogLevel } from './log-level.js';
import { readLogOutputs } from './log-outputs.js';
import { unreadLogKeys } from './log-handlers.js';

export interface LoadOptions {
  /** The install root: the directory holding bin/ and etc/. */
  readonly root: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface LoadedConfig {
  readonly config: Config;
  /** To show the operator (stderr at the command line, the log in the daemon); not fatal. */
  readonly warnings: ConfigProblem[];
  /** Top-level keys other than node and cluster, accepted and not used. */
  readonly ignoredRoots: string[];
  /** The effective config tree for `conf show`, cookie redacted */
  readonly effective: Record<string, unknown>;
}

export const DEFAULT_COOKIE = 'emqxsecretcookie';
export const DEFAULT_COOKIE_WARNING = 'Default (insecure) Erlang cookie is in use.';
/** EMQX's second line about the default cookie, where the operator reads it (the terminal). */
export const defaultCookieHint = (confFile: string): string => `Configure node.cookie in ${confFile} or override from environment variable EMQX_NODE__COOKIE`;

function fromEnv(value: string | undefined, base: string, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  return isAbsolute(value) ? value : resolve(base, value);
}

/** Where this node's files are; relative location variables count from the install root. */
export function resolvePaths(opts: LoadOptions): Paths {
  const root = resolve(opts.root);
  const etc = fromEnv(opts.env.EMQX_ETC_DIR, root, join(root, 'etc'));
  return {
    root,
    etc_dir: etc,
    conf_file: join(etc, 'emqx.conf'),
    log_dir: fromEnv(opts.env.EMQX_LOG_DIR, root, join(root, 'log')),
    ssl_dist_optfile: fromEnv(opts.env.EMQX_SSL_DIST_OPTFILE, root, join(etc, 'ssl_dist.conf')),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge as HOCON does for a repeated key: objects merge, anything else replaces. */
function mergeInto(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = target;
  for (const seg of path.slice(0, -1)) {
    const next = at[seg];
    if (!isPlainObject(next)) at[seg] = {};
    at = at[seg] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  const existing = at[last];
  if (isPlainObject(existing) && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) mergeInto(existing, [k], v);
  } else {
    at[last] = value;
  }
}

/** Every key an override sets, so problems inside it name the variable rather than the file. */
function recordEnvOrigins(o: EnvOverride, origins: Map<string, string>): void {
  const visit = (path: readonly string[], value: unknown): void => {
    origins.set(path.join('.'), o.env);
    if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) visit([...path, k], v);
  };
  visit(o.path, o.value);
}

function hoconProblem(err: HoconError): ConfigProblem {
  return { file: err.file, line: err.line, column: err.column, message: err.reason };
}

function readProblem(file: string): ConfigProblem | undefined {
  if (!existsSync(file)) {
    return {
      file,
      message: `config file not found (set EMQX_ETC_DIR to the directory that holds emqx.conf)`,
    };
  }
  if (!statSync(file).isFile()) return { file, message: 'config file is not a regular file' };
  return undefined;
}

function unexpectedProblem(file: string, err: unknown): ConfigProblem {
  if (err instanceof RangeError) return { file, message: 'the configuration is nested too deeply to read' };
  const e = err as NodeJS.ErrnoException;
  return { file, message: `cannot load the config file: ${e.code ?? e.message ?? String(err)}` };
}

function parseFile(paths: Paths, env: LoadOptions['env']): { tree: Record<string, unknown>; originOf: (p: readonly string[]) => Origin | undefined } {
  const missing = readProblem(paths.conf_file);
  if (missing) throw new ConfigError([missing]);
  try {
    // EMQX's launcher always exports these, so `${EMQX_ETC_DIR}` works in its files; so here too.
    const doc = parseHoconFile(paths.conf_file, { env: { EMQX_ETC_DIR: paths.etc_dir, EMQX_LOG_DIR: paths.log_dir, ...env } });
    return { tree: doc.value, originOf: (p) => doc.originOf(p) };
  } catch (err) {
    if (err instanceof HoconError) throw new ConfigError([hoconProblem(err)]);
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([unexpectedProblem(paths.conf_file, err)]);
  }
}

function loadTls(file: string, problems: ConfigProblem[], warnings: ConfigProblem[]): DistTlsOptions | undefined {
  try {
    const tls = loadSslDistFile(file);
    for (const w of tls.warnings) warnings.push({ file, message: w });
    return tls;
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else problems.push({ file, message: `cannot load TLS options: ${(err as Error).message}` });
    return undefined;
  }
}

function configWarnings(config: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  if (config.node.cookie === DEFAULT_COOKIE) {
    warnings.push({ key: 'node.cookie', message: DEFAULT_COOKIE_WARNING });
  }
  for (const [type, byName] of Object.entries(config.listeners)) {
    for (const [name, l] of Object.entries(byName)) {
      if (l.shadowed_by !== undefined) {
        warnings.push({ key: `listeners.${type}.${name}`, message: `the default listener ${type}:${name} (${l.bind}) is not started: listener ${l.shadowed_by} uses its port` });
      }
    }
  }
  const ssl = config.cluster.etcd.ssl_options;
  if (config.cluster.discovery_strategy === 'etcd' && ssl?.enable && ssl.verify === 'verify_none') {
    warnings.push({
      key: 'cluster.etcd.ssl_options.verify',
      message: "cluster.etcd.ssl_options.verify is verify_none: the etcd server's certificate is not checked",
    });
  }
  return warnings;
}

/**
 * What an EMQX operator may expect to work but this node does not serve: whole roots it does not
 * read (dashboard, authentication, gateway, ...) and listener types it has no listener for.
 */
function unservedSections(tree: Readonly<Record<string, unknown>>, ignoredRoots: readonly string[]): string[] {
  const out = [...ignoredRoots];
  const listeners = tree.listeners;
  if (isPlainObject(listeners) && listeners.quic !== undefined) out.push('listeners.quic');
  return out;
}

/** `log`, in the unserved list, as the keys of it this node does not read (none: not listed). */
function unreadLog(tree: Readonly<Record<string, unknown>>): string[] {
  const keys = unreadLogKeys(tree);
  if (keys.length === 0) return [];
  const shown = keys.slice(0, 5).join(', ');
  return [`log (not read: ${shown}${keys.length > 5 ? `, and ${keys.length - 5} more` : ''})`];
}

/** Loads and validates the config; throws ConfigError listing every problem found. */
export function loadConfig(opts: LoadOptions): LoadedConfig {
  const paths = resolvePaths(opts);
  try {
    return loadFrom(paths, opts);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // A pathological tree (thousands of levels deep) must not surface as a stack trace.
    throw new ConfigError([unexpectedProblem(paths.conf_file, err)]);
  }
}

function loadFrom(paths: Paths, opts: LoadOptions): LoadedConfig {
  const { tree: fileTree, originOf: fileOrigin } = parseFile(paths, opts.env);
  const tree = structuredClone(fileTree);
  const env = envOverrides(opts.env, parseHoconValue);
  const envOrigins = new Map<string, string>();
  const envTexts = new Map<string, string>();
  for (const o of env.overrides) {
    mergeInto(tree, o.path, o.value);
    recordEnvOrigins(o, envOrigins);
    envTexts.set(o.path.join('.'), o.raw);
  }
  const originOf = (p: readonly string[]): Origin | undefined => {
    const name = envOrigins.get(p.join('.'));
    if (name !== undefined) return { env: name };
    const o = fileOrigin(p);
    return o === undefined ? undefined : { file: o.file, line: o.line, column: o.column };
  };
  const envTextOf = (p: readonly string[]): string | undefined => envTexts.get(p.join('.'));
  const result = validateConfig(tree, { paths, env: opts.env, originOf, envTextOf });
  const problems = [...result.problems];
  const warnings: ConfigProblem[] = [...env.warnings];
  let config = result.config;
  const at = (path: readonly string[], message: string): ConfigProblem => problemAt(path, message, originOf);
  const log = readLogLevel(tree, at);
  const outputs = readLogOutputs(tree, { paths, env: opts.env }, at);
  problems.push(...log.problems, ...outputs.problems);
  warnings.push(...outputs.warnings);
  const unserved = unservedSections(tree, result.ignoredRoots).flatMap((r) => (r === 'log' ? unreadLog(tree) : [r]));
  if (unserved.length > 0) {
    warnings.push({ message: `sections of ${paths.conf_file} this node does not serve (accepted, not applied): ${unserved.join(', ')}` });
  }
  if (config !== undefined) {
    warnings.push(...configWarnings(config));
    const withTls = withListenerTls(config.listeners, (p) => originOf(p) ?? {});
    problems.push(...withTls.problems);
    config = { ...config, listeners: withTls.listeners, log: { level: log.level, file: outputs.file, console: outputs.console } };
    if (config.dashboard !== undefined) config = { ...config, dashboard: withDashboardTlsDigest(config.dashboard) };
  }
  // Read ssl_dist.conf even when emqx.conf has problems, so one run reports both files.
  const cluster = tree.cluster as Record<string, unknown> | undefined;
  const protoDist = config?.cluster.proto_dist ?? cluster?.proto_dist;
  if (protoDist === 'inet_tls' || protoDist === 'inet6_tls') {
    const tls = loadTls(paths.ssl_dist_optfile, problems, warnings);
    if (config !== undefined && tls !== undefined) config = { ...config, tls };
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(sortProblems(problems));
  const frozen = deepFreeze(config);
  return {
    config: frozen,
    warnings,
    ignoredRoots: result.ignoredRoots,
    effective: redactTree(effectiveTree(frozen)) as Record<string, unknown>,
  };
}
