// Where the node's log lines go and in what form, from EMQX's `log` handlers (log-handlers.ts):
// the file's path, rotation and formatter, and the terminal's formatter in the foreground modes.
// The node writes one file. Of several enabled file handlers it writes the one named `default`
// (else the single `log.file { ... }` handler, else the first) and says so for the others.
import { isAbsolute, resolve } from 'node:path';
import { parseBytesize } from './duration.js';
import { handlerEnabled, logHandlers, type LogHandler } from './log-handlers.js';
import { expandLeadingVar } from './schema.js';
import type { ConfigProblem, Paths } from './types.js';
import { DEFAULT_LOG_LEVEL, isLogLevel, type LogLevel } from './log-level.js';

/** The file's name in the log directory (EMQX_LOG_DIR) when no handler sets a path. */
export const LOG_FILE_NAME = 'emqx.log';

export type LogFormatter = 'text' | 'json';
const FORMATTERS: readonly LogFormatter[] = ['text', 'json'];

export interface LogFileConfig {
  /** What this handler writes of what is logged (its `level`; the node's default when unset). */
  readonly level: LogLevel;
  /** Absolute. */
  readonly path: string;
  /** Rotate once the file reaches this many bytes; null: never. */
  readonly rotationSize: number | null;
  /** Rotated files kept beside the live one. */
  readonly rotationCount: number;
  readonly formatter: LogFormatter;
}

export interface LogConsoleConfig {
  readonly level: LogLevel;
  /** false: nothing on the terminal in the foreground modes (`log.console.enable = false`). */
  readonly enable: boolean;
  /** Unset: pretty text in `console` mode, JSON lines in `foreground` mode (as before these keys were read). */
  readonly formatter?: LogFormatter;
}

/** EMQX's defaults for the file handler, except the formatter: ours stays JSON lines unless set. */
export const DEFAULT_ROTATION_SIZE = 50 * 1024 * 1024;
export const DEFAULT_ROTATION_COUNT = 10;
const MAX_ROTATION_COUNT = 2048;

export function defaultLogFile(logDir: string): LogFileConfig {
  return { level: DEFAULT_LOG_LEVEL, path: resolve(logDir, LOG_FILE_NAME), rotationSize: DEFAULT_ROTATION_SIZE, rotationCount: DEFAULT_ROTATION_COUNT, formatter: 'json' };
}

type ProblemAt = (path: readonly string[], message: string) => ConfigProblem;

export interface LogOutputs {
  readonly file: LogFileConfig;
  readonly console: LogConsoleConfig;
  readonly problems: ConfigProblem[];
  readonly warnings: ConfigProblem[];
}

/** Which enabled file handler the node writes: `default`, else the single one, else the first. */
function chosenFile(files: readonly LogHandler[]): LogHandler | undefined {
  return files.find((h) => h.path.length === 3 && h.path[2] === 'default') ?? files.find((h) => h.path.length === 2) ?? files[0];
}

/** A handler's level; a bad one is reported by readLogLevel (log-level.ts). */
const levelOf = (h: LogHandler): LogLevel => (isLogLevel(h.fields.level) ? h.fields.level : DEFAULT_LOG_LEVEL);

function formatterOf(h: LogHandler, problemAt: ProblemAt, problems: ConfigProblem[]): LogFormatter | undefined {
  const v = h.fields.formatter;
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (FORMATTERS as readonly string[]).includes(v)) return v as LogFormatter;
  problems.push(problemAt([...h.path, 'formatter'], `${JSON.stringify(v)} is not a formatter: one of ${FORMATTERS.join(', ')}`));
  return undefined;
}

/** A rotation size: EMQX's byte sizes (`50MB`, `1024KB`, bytes) of at least 1 KB, or `infinity`. */
function rotationSizeOf(v: unknown, at: readonly string[], problemAt: ProblemAt, problems: ConfigProblem[]): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'infinity') return null;
  const b = parseBytesize(v);
  if (b.ok && b.value >= 1024) return b.value;
  problems.push(problemAt(at, `${JSON.stringify(v)} is not a rotation size: a size of at least 1KB (e.g. 50MB, 512KB) or infinity`));
  return undefined;
}

function rotationCountOf(v: unknown, at: readonly string[], problemAt: ProblemAt, problems: ConfigProblem[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ROTATION_COUNT) return v;
  problems.push(problemAt(at, `${JSON.stringify(v)} is not a rotation count: an integer from 1 to ${MAX_ROTATION_COUNT}`));
  return undefined;
}

/** Where the config's paths are anchored, and the environment `${VAR}` in a path reads. */
export interface LogDirs {
  readonly paths: Pick<Paths, 'root' | 'etc_dir' | 'log_dir'>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

function fileConfig(h: LogHandler, dirs: LogDirs, problemAt: ProblemAt, problems: ConfigProblem[]): LogFileConfig {
  const def = defaultLogFile(dirs.paths.log_dir);
  const f = h.fields;
  const pathKey = h.legacy ? 'file' : 'path';
  let path = def.path;
  const p = f[pathKey];
  if (p !== undefined) {
    // EMQX's default is "${EMQX_LOG_DIR}/emqx.log", expanded by EMQX itself (inside quotes, HOCON does not).
    const expanded = typeof p === 'string' && p.trim() !== '' && !p.endsWith('/') ? expandLeadingVar(p, dirs.env, dirs.paths) : undefined;
    if (expanded === undefined) problems.push(problemAt([...h.path, pathKey], `${JSON.stringify(p)} is not a log file path: a file name, absolute or relative to the install directory`));
    else if (!expanded.ok) problems.push(problemAt([...h.path, pathKey], expanded.reason));
    else path = isAbsolute(expanded.value) ? expanded.value : resolve(dirs.paths.root, expanded.value);
  }
  let rotationSize: number | null = def.rotationSize;
  let rotationCount = def.rotationCount;
  if (h.legacy) {
    // 5.0: max_size (a size or infinity), rotation { enable, count }.
    const size = rotationSizeOf(f.max_size, [...h.path, 'max_size'], problemAt, problems);
    if (size !== undefined) rotationSize = size;
    const rotation = f.rotation;
    if (rotation !== null && typeof rotation === 'object' && !Array.isArray(rotation)) {
      const r = rotation as Record<string, unknown>;
      if (r.enable !== undefined && typeof r.enable !== 'boolean') problems.push(problemAt([...h.path, 'rotation', 'enable'], `${JSON.stringify(r.enable)} is not a boolean`));
      if (r.enable === false) rotationSize = null;
      rotationCount = rotationCountOf(r.count, [...h.path, 'rotation', 'count'], problemAt, problems) ?? rotationCount;
    }
  } else {
    const size = rotationSizeOf(f.rotation_size, [...h.path, 'rotation_size'], problemAt, problems);
    if (size !== undefined) rotationSize = size;
    rotationCount = rotationCountOf(f.rotation_count, [...h.path, 'rotation_count'], problemAt, problems) ?? rotationCount;
  }
  return { level: levelOf(h), path, rotationSize, rotationCount, formatter: formatterOf(h, problemAt, problems) ?? def.formatter };
}

/** The file and terminal settings from `tree.log`; a relative path is anchored at the install directory, as EMQX's working directory is. */
export function readLogOutputs(tree: Readonly<Record<string, unknown>>, dirs: LogDirs, problemAt: ProblemAt): LogOutputs {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const handlers = logHandlers(tree);
  const enableOf = (h: LogHandler): void => {
    if (h.fields.enable !== undefined && typeof h.fields.enable !== 'boolean') problems.push(problemAt([...h.path, 'enable'], `${JSON.stringify(h.fields.enable)} is not a boolean`));
  };
  let console: LogConsoleConfig = { level: DEFAULT_LOG_LEVEL, enable: true };
  for (const h of handlers.filter((c) => c.kind === 'console')) {
    enableOf(h);
    const formatter = formatterOf(h, problemAt, problems);
    if (!handlerEnabled(h)) console = { level: levelOf(h), enable: false };
    else if (console.enable) console = { level: levelOf(h), enable: true, ...(formatter !== undefined ? { formatter } : {}) };
  }
  const files = handlers.filter((h) => h.kind === 'file');
  files.forEach(enableOf);
  const enabledFiles = files.filter(handlerEnabled);
  const chosen = chosenFile(enabledFiles);
  const file = chosen === undefined ? defaultLogFile(dirs.paths.log_dir) : fileConfig(chosen, dirs, problemAt, problems);
  for (const h of enabledFiles) {
    if (h === chosen) continue;
    // Checked all the same, so that the file is right the day it becomes the one written.
    fileConfig(h, dirs, problemAt, problems);
    warnings.push(problemAt(h.path, `this node writes one log file, ${chosen!.path.join('.')}'s (${file.path}); this handler is not written`));
  }
  if (files.length > 0 && enabledFiles.length === 0) {
    warnings.push(problemAt(files[0]!.path, `every file handler is disabled; the node writes its log file all the same (${file.path}): a daemon's only record`));
  }
  return { file, console, problems, warnings };
}
