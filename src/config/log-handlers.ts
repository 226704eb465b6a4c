// EMQX's `log` section as a list of handlers. EMQX 5.1+ writes `log.console { ... }` and either
// one file handler (`log.file { level = ..., path = ... }`) or named ones (`log.file.<name> { ... }`);
// 5.0 wrote `log.console_handler` and `log.file_handlers.<name>`, with `file`, `max_size` and
// `rotation { enable, count }` where 5.1 has `path`, `rotation_size` and `rotation_count`.
// Every handler field is a scalar in both, so in `log.file` a scalar belongs to the single
// handler and an object is a named one.

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface LogHandler {
  readonly kind: 'console' | 'file';
  /** Its section from the root: ['log', 'file'], ['log', 'file', 'default'], ['log', 'file_handlers', 'x'], ... */
  readonly path: readonly string[];
  /** The 5.0 spelling (`console_handler`, `file_handlers`). */
  readonly legacy: boolean;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The handlers set in `tree.log`, consoles first, in the order written. */
export function logHandlers(tree: Readonly<Record<string, unknown>>): LogHandler[] {
  const log = tree.log;
  if (!isObject(log)) return [];
  const out: LogHandler[] = [];
  for (const [key, legacy] of [['console', false], ['console_handler', true]] as const) {
    const h = log[key];
    if (isObject(h)) out.push({ kind: 'console', path: ['log', key], legacy, fields: h });
  }
  const file = log.file;
  if (isObject(file)) {
    const scalars = Object.entries(file).filter(([, v]) => !isObject(v));
    if (scalars.length > 0) out.push({ kind: 'file', path: ['log', 'file'], legacy: false, fields: Object.fromEntries(scalars) });
    for (const [name, h] of Object.entries(file)) if (isObject(h)) out.push({ kind: 'file', path: ['log', 'file', name], legacy: false, fields: h });
  }
  const legacyFiles = log.file_handlers;
  if (isObject(legacyFiles)) {
    for (const [name, h] of Object.entries(legacyFiles)) if (isObject(h)) out.push({ kind: 'file', path: ['log', 'file_handlers', name], legacy: true, fields: h });
  }
  return out;
}

/** `enable = false` turns a handler off; anything but a boolean is the caller's problem to report. */
export const handlerEnabled = (h: LogHandler): boolean => h.fields.enable !== false;

/** The handler fields this node reads (the rest of `log` is accepted and named in a warning). */
const READ_FIELDS: Readonly<Record<LogHandler['kind'], readonly string[]>> = {
  console: ['enable', 'level', 'formatter'],
  file: ['enable', 'level', 'formatter', 'path', 'rotation_size', 'rotation_count', 'file', 'max_size', 'rotation'],
};

/** Whether `path` (from the root) is a handler field this node reads: `EMQX_LOG__…` variables for those count. */
export function isReadLogKey(path: readonly string[]): boolean {
  if (path[0] !== 'log' || path.length < 3) return false;
  const last = path.at(-1)!;
  const kind = path[1] === 'console' || path[1] === 'console_handler' ? 'console' : path[1] === 'file' || path[1] === 'file_handlers' ? 'file' : undefined;
  if (kind === undefined) return false;
  // log.file_handlers.<name>.rotation.count / .enable
  if (path.at(-2) === 'rotation') return kind === 'file' && (last === 'count' || last === 'enable');
  return READ_FIELDS[kind].includes(last);
}

/** The keys of `tree.log` this node does not read, dotted from the root. */
export function unreadLogKeys(tree: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (isObject(v)) for (const [k, child] of Object.entries(v)) walk(child, [...path, k]);
    else if (!isReadLogKey(path)) out.push(path.join('.'));
  };
  walk(tree.log, ['log']);
  return out;
}
