// EMQX's `text` log formatter for the node's JSON log lines: `<time> [<level>] msg: <msg>, key:
// value, ...`, one line each, as EMQX's text lines read. The node and pid, the same on every line
// of one file, are left out.

/** pino's levels by EMQX's names (trace lines are what EMQX's `all` lets through: debug). */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'critical' };

/** A field's value as text: strings bare unless they would read as several fields or lines, the rest as JSON. */
function valueText(v: unknown): string {
  if (typeof v === 'string') return /[\n\r]|, /.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** One JSON log line (pino's) as one text line; a line that is not JSON passes unchanged. */
export function jsonLineToText(line: string): string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return line;
  const { time, level, msg, pid: _pid, node: _node, ...rest } = o as Record<string, unknown>;
  // The message stands first and bare, as EMQX writes it; only a line break in it is escaped.
  const text = typeof msg === 'string' && !/[\n\r]/.test(msg) ? msg : valueText(msg ?? '');
  const fields = [`msg: ${text}`, ...Object.entries(rest).map(([k, v]) => `${k}: ${valueText(v)}`)];
  return `${String(time)} [${(typeof level === 'number' && LEVEL_NAMES[level]) || String(level)}] ${fields.join(', ')}\n`;
}
