// Secrets (the cookie, passwords, private keys) never leave the node in clear: `conf show`,
// `check_config --print` and logs go through here.
import type { Config } from './types.js';

export const REDACTED = '******';

/**
 * Keys whose values are secret. Paths to secret files (`keyfile`, `token_file`) are not secret
 * themselves and stay visible, so an operator can check which file is used.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  if (k.endsWith('file') || k.endsWith('_file')) return false;
  return /cookie|password|passphrase|secret|token|^key$|^pfx$/.test(k);
}

/** A deep copy of `tree` with every secret value replaced by `******`. */
export function redactTree(tree: unknown): unknown {
  if (Array.isArray(tree)) return tree.map(redactTree);
  if (tree === null || typeof tree !== 'object' || ArrayBuffer.isView(tree)) return tree;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) {
    out[k] = isSecretKey(k) && v !== undefined ? REDACTED : redactTree(v);
  }
  return out;
}

/** The Config as plain data fit to print or log. */
export function redactConfig(config: Config): Record<string, unknown> {
  return redactTree(config) as Record<string, unknown>;
}
