// One entry of a config array whose keys depend on the entry (authenticators, authorization
// sources, rewrite rules, auto-subscribe topics): its fields read one by one, every problem kept
// as `[i] key: reason`, and a key nobody read reported as unknown.

export type Converted = { ok: true; value: unknown } | { ok: false; reason: string };
export type FileConverter = (path: string) => Converted;

export const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
export const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : isObj(v) ? 'an object' : Array.isArray(v) ? 'an array' : String(v));

/** Reads the fields of one entry, collecting problems as `[i] key: reason`. */
export class Entry {
  readonly problems: string[] = [];
  readonly seen = new Set<string>();
  constructor(
    readonly at: string,
    readonly v: Record<string, unknown>,
  ) {}

  bad(key: string, reason: string): undefined {
    this.problems.push(`${this.at}${key ? ` ${key}` : ''}: ${reason}`);
    return undefined;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return this.v[key];
  }

  str(key: string, def?: string): string | undefined {
    const v = this.raw(key) ?? def;
    if (v === undefined) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') return this.bad(key, `${show(v)} is not a string`);
    return String(v);
  }

  oneOf<T extends string>(key: string, values: readonly T[], def?: T): T | undefined {
    const v = this.str(key, def);
    if (v === undefined) return this.bad(key, `is required (one of ${values.join(', ')})`);
    if (!(values as readonly string[]).includes(v)) return this.bad(key, `'${v}' is not one of ${values.join(', ')}`);
    return v as T;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.raw(key) ?? def;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    this.bad(key, `${show(v)} is not a boolean`);
    return def;
  }

  int(key: string, min: number, max: number, def?: number): number | undefined {
    const raw = this.raw(key) ?? def;
    if (raw === undefined) return undefined;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) return this.bad(key, `${show(raw)} is not an integer in ${min}..${max}`);
    return n;
  }

  /** Keys nobody asked for: a typo must not pass silently. */
  rest(allowed: readonly string[] = []): void {
    for (const k of Object.keys(this.v)) if (!this.seen.has(k) && !allowed.includes(k)) this.bad(k, 'unknown key');
  }
}
