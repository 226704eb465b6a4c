// Durations (`15s`, `2m`, `1h30m`, `500ms`) and sizes (`1MB`, `512KB`) as EMQX writes them.
// Pure conversions: each returns the number or a short reason the schema puts in its message.

export type Converted = { ok: true; value: number } | { ok: false; reason: string };

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

// Longest unit first so `ms` is not read as `m` followed by garbage.
const DURATION_PART_RE = /(\d+)(ms|s|m|h|d|w)/giy;

export const DURATION_HELP = 'a duration such as 500ms, 15s, 2m, 24h or 1h30m';
export const BYTESIZE_HELP = 'a size such as 512KB, 1MB or 1GB';

/**
 * A duration in ms. A plain integer (number or digit string) counts in `integerUnitMs`:
 * EMQX reads bare integers as milliseconds for most durations but as seconds for `*_s` ones.
 */
export function parseDuration(value: unknown, integerUnitMs = 1): Converted {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return { ok: true, value: value * integerUnitMs };
    return { ok: false, reason: `expected ${DURATION_HELP}` };
  }
  if (typeof value !== 'string') return { ok: false, reason: `expected ${DURATION_HELP}` };
  const text = value.trim();
  if (/^\d+$/.test(text)) return { ok: true, value: Number(text) * integerUnitMs };
  if (text === '') return { ok: false, reason: `expected ${DURATION_HELP}` };
  let total = 0;
  DURATION_PART_RE.lastIndex = 0;
  let consumed = 0;
  for (let m = DURATION_PART_RE.exec(text); m !== null; m = DURATION_PART_RE.exec(text)) {
    total += Number(m[1]) * DURATION_UNIT_MS[m[2]!.toLowerCase()]!;
    consumed = DURATION_PART_RE.lastIndex;
  }
  if (consumed !== text.length || !Number.isSafeInteger(total)) {
    return { ok: false, reason: `expected ${DURATION_HELP}` };
  }
  return { ok: true, value: total };
}

const BYTESIZE_UNIT: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** A size in bytes; units are binary (1KB = 1024 bytes) as in EMQX. */
export function parseBytesize(value: unknown): Converted {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return { ok: true, value };
    return { ok: false, reason: `expected ${BYTESIZE_HELP}` };
  }
  if (typeof value !== 'string') return { ok: false, reason: `expected ${BYTESIZE_HELP}` };
  const m = /^(\d+)\s*([kmg]?b)?$/i.exec(value.trim());
  if (!m) return { ok: false, reason: `expected ${BYTESIZE_HELP}` };
  const bytes = Number(m[1]) * BYTESIZE_UNIT[(m[2] ?? '').toLowerCase()]!;
  if (!Number.isSafeInteger(bytes)) return { ok: false, reason: `expected ${BYTESIZE_HELP}` };
  return { ok: true, value: bytes };
}

/** An exact spelling of a duration in hours and below, as operators write them (`24h`, `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = DURATION_UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

export const RATE_HELP = 'a rate such as 1000/s, 100/10s or 6000/m, or infinity';
export const BYTE_RATE_HELP = 'a rate such as 1MB/s, 512KB/10s or 1000/s (bytes), or infinity';

/**
 * A rate per second, as EMQX's limiters write one: `<amount>/<period>`, the period an optional
 * count and a unit (`s`, `10s`, `m`, `500ms`); the amount a size (`1MB`) when `bytes`. `infinity`
 * (no limit) is Infinity; a bare positive number counts per second.
 */
export function parseRate(value: unknown, bytes: boolean): Converted {
  const help = bytes ? BYTE_RATE_HELP : RATE_HELP;
  if (value === 'infinity') return { ok: true, value: Number.POSITIVE_INFINITY };
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? { ok: true, value } : { ok: false, reason: `expected ${help}` };
  if (typeof value !== 'string') return { ok: false, reason: `expected ${help}` };
  const m = /^\s*([^/\s]+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*$/i.exec(value);
  if (!m) return { ok: false, reason: `expected ${help}` };
  const amount = bytes ? parseBytesize(m[1]) : /^\d+$/.test(m[1]!) ? { ok: true as const, value: Number(m[1]) } : { ok: false as const, reason: '' };
  const periodMs = (m[2] === '' ? 1 : Number(m[2])) * DURATION_UNIT_MS[m[3]!.toLowerCase()]!;
  if (!amount.ok || amount.value <= 0 || periodMs <= 0) return { ok: false, reason: `expected ${help}` };
  return { ok: true, value: (amount.value * 1000) / periodMs };
}
