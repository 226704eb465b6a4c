// Times and sizes as EMQX's API writes them. Pure.

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** emqx_utils_calendar:epoch_to_rfc3339: local time with its offset and milliseconds. */
export function rfc3339(ms: number, unit: 'millisecond' | 'second' = 'millisecond'): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const frac = unit === 'millisecond' ? `.${pad(d.getMilliseconds(), 3)}` : '';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac}` +
    `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`
  );
}

/** emqx_mgmt_util:kmg: `512.00M`. */
export function kmg(bytes: number): string {
  const KB = 1024;
  const MB = KB * 1024;
  const GB = MB * 1024;
  if (bytes > GB) return `${(bytes / GB).toFixed(2)}G`;
  if (bytes > MB) return `${(bytes / MB).toFixed(2)}M`;
  if (bytes > KB) return `${(bytes / KB).toFixed(2)}K`;
  return String(Math.round(bytes));
}

/** A time given as RFC 3339 text or epoch milliseconds; undefined when it is neither. */
export function parseTime(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
