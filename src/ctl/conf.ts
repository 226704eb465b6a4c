// `emqx ctl conf reload | show [key] | show_keys`: hot reload on demand and the effective config.
import { printHoconField } from '../config/hocon/index.js';
import type { CtlCommand, CtlResult } from './types.js';

export interface ConfHost {
  /** Re-reads the files and applies them; the report as `conf reload` prints it. */
  reload(): Promise<CtlResult>;
  /** The running configuration as a tree, secrets already redacted. */
  effective(): Record<string, unknown>;
}

const USAGE: CtlCommand['usage'] = [
  ['conf reload', 'Re-read the config files and apply what changed (as on SIGHUP)'],
  ['conf show_keys', 'Print all config keys'],
  ['conf show [<key>]', 'Print the running config (secrets redacted)'],
];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Dotted leaf keys of the tree, in order. */
export function configKeys(tree: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    return isPlainObject(v) ? configKeys(v, key) : v === undefined ? [] : [key];
  });
}

/** The value at a dotted key, or undefined. */
export function lookup(tree: Record<string, unknown>, key: string): unknown {
  let at: unknown = tree;
  for (const seg of key.split('.')) {
    if (!isPlainObject(at) || !(seg in at)) return undefined;
    at = at[seg];
  }
  return at;
}

export function confCommand(host: ConfHost): CtlCommand {
  const usage = (): CtlResult => ({ code: 1, output: USAGE.map(([s, d]) => `${s.padEnd(20)}# ${d}`).join('\n') + '\n' });
  return {
    name: 'conf',
    usage: USAGE,
    async run(args) {
      const [sub, ...rest] = args;
      if (sub === 'reload' && rest.length === 0) return host.reload();
      if (sub === 'show_keys' && rest.length === 0) return { code: 0, output: configKeys(host.effective()).map((k) => `${k}\n`).join('') };
      if (sub === 'show' && rest.length <= 1) {
        const tree = host.effective();
        if (rest.length === 0) return { code: 0, output: `${JSON.stringify(tree, null, 2)}\n` };
        const value = lookup(tree, rest[0]!);
        if (value === undefined) return { code: 1, output: `No such config key: ${rest[0]!} (see 'emqx ctl conf show_keys')\n` };
        return { code: 0, output: printHoconField(rest[0]!, value) };
      }
      return usage();
    },
  };
}
