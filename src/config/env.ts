// EMQX_* environment overrides (SPEC §3). Pure: reads the env object it is given.
import { isReadLogKey } from './log-handlers.js';
import type { ConfigProblem } from './types.js';
import { ROOT_FIELDS, isKnownKey, fieldsAt } from './schema/fields.js';
import { suggest } from './suggest.js';

/** Variables that say where things are; they are not config keys. */
export const LOCATION_VARIABLES: readonly string[] = ['EMQX_ETC_DIR', 'EMQX_LOG_DIR', 'EMQX_SSL_DIST_OPTFILE'];

/** Old single-underscore spellings EMQX still reads, and the variables they stand for. */
export const LEGACY_VARIABLES: Readonly<Record<string, string>> = {
  EMQX_NODE_NAME: 'EMQX_NODE__NAME',
  EMQX_NODE_COOKIE: 'EMQX_NODE__COOKIE',
};

export interface EnvOverride {
  /** e.g. ['cluster', 'static', 'seeds'] */
  readonly path: readonly string[];
  readonly value: unknown;
  /** The variable's text as set, for keys that take text whatever HOCON makes of it. */
  readonly raw: string;
  /** The variable it came from, as the operator spelt it. */
  readonly env: string;
}

export interface EnvOverrides {
  /** In the order to apply them: a whole object before the keys inside it. */
  readonly overrides: readonly EnvOverride[];
  /** Variables dropped because they name no known key under node or cluster. */
  readonly warnings: readonly ConfigProblem[];
}

/** Parses text as the value of `k = <text>`; throws on a syntax error. */
export type ValueParser = (text: string) => unknown;

/** `EMQX_CLUSTER__STATIC__SEEDS` → ['cluster', 'static', 'seeds']; undefined when not an override. */
export function envKeyPath(name: string): string[] | undefined {
  if (!name.startsWith('EMQX_') || LOCATION_VARIABLES.includes(name)) return undefined;
  const path = name
    .slice('EMQX_'.length)
    .toLowerCase()
    .split('__')
    .filter((s) => s !== '');
  return path.length > 0 ? path : undefined;
}

/**
 * The value of one variable: HOCON when it parses, the raw text otherwise. A value whose parse
 * swallowed part of the text as a comment (`a#b`, `http://h`) is kept raw: nobody sets a
 * variable to have half of it ignored.
 */
export function envValue(raw: string, parse: ValueParser): unknown {
  let parsed: unknown;
  try {
    parsed = parse(raw);
  } catch {
    return raw;
  }
  if (typeof parsed === 'string' && parsed !== raw.trim() && /#|\/\//.test(raw) && !/^\s*"/.test(raw)) {
    return raw;
  }
  return parsed === undefined ? raw : parsed;
}

function unknownKeyWarning(name: string, path: readonly string[]): ConfigProblem {
  // The first segment that is not declared is the one to suggest for.
  let i = 1;
  while (i < path.length && isKnownKey(path.slice(0, i + 1))) i++;
  const known = path.slice(0, i);
  const near = suggest(path[i] ?? '', fieldsAt(known));
  const key = path.join('.');
  return {
    env: name,
    key,
    message: `unknown key ${key}, variable ignored${near !== undefined ? ` (did you mean ${[...known, near].join('.')}?)` : ''}`,
  };
}

/** The overrides the environment asks for, and a warning for each variable that is dropped. */
export function envOverrides(env: Readonly<Record<string, string | undefined>>, parse: ValueParser): EnvOverrides {
  const chosen = new Map<string, { name: string; path: string[]; raw: string }>();
  const names = Object.keys(env).sort();
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined) continue;
    const canonical = LEGACY_VARIABLES[name] ?? name;
    const path = envKeyPath(canonical);
    if (path === undefined) continue;
    const id = path.join('.');
    // The new spelling wins over the legacy one whatever the order.
    if (chosen.has(id) && name !== canonical) continue;
    chosen.set(id, { name, path, raw });
  }
  const overrides: EnvOverride[] = [];
  const warnings: ConfigProblem[] = [];
  for (const { name, path, raw } of chosen.values()) {
    // Of EMQX's `log` section the handler fields this node reads count (log-handlers.ts).
    const logKey = isReadLogKey(path);
    if (!logKey && !Object.hasOwn(ROOT_FIELDS, path[0]!)) continue;
    if (!logKey && !isKnownKey(path)) {
      warnings.push(unknownKeyWarning(name, path));
      continue;
    }
    overrides.push({ path, value: envValue(raw, parse), raw, env: name });
  }
  overrides.sort((a, b) => a.path.length - b.path.length || a.env.localeCompare(b.env));
  return { overrides, warnings };
}
