// Shorthands for declaring keys, shared by every root's field table.
import type { Field } from './fields.js';

/** An EMQX key this node accepts and does not use. */
export const emqx: Field = { type: { kind: 'emqx' } };
export const bool = (def: boolean): Field => ({ type: { kind: 'boolean' }, default: def });
export const str = (def?: string): Field => ({ type: { kind: 'string' }, default: def });
export const int = (min: number, max: number, def?: number): Field => ({ type: { kind: 'integer', min, max }, default: def });
export const oneOf = (values: readonly string[], def?: string): Field => ({ type: { kind: 'enum', values }, default: def });
/** In ms; a bare integer counts milliseconds. */
export const duration = (def: string, minMs = 0): Field => ({ type: { kind: 'duration', integerUnitMs: 1, minMs }, default: def });
export const bytes = (def: string): Field => ({ type: { kind: 'bytesize' }, default: def });
export const object = (fields: Record<string, Field>): Field => ({ type: { kind: 'object', fields } });
export const bind = (def: string): Field => ({ type: { kind: 'bind' }, default: def });

/** An integer, or `infinity` (no limit). */
export const limit = (min: number, def: number | 'infinity'): Field => ({
  type: { kind: 'word_or', words: { infinity: Number.POSITIVE_INFINITY }, of: { kind: 'integer', min, max: Number.MAX_SAFE_INTEGER } },
  default: def,
});

/** A duration in ms (bare integers: ms), or `infinity`. */
export const durationOrInfinity = (def: string): Field => ({
  type: { kind: 'word_or', words: { infinity: Number.POSITIVE_INFINITY }, of: { kind: 'duration', integerUnitMs: 1, minMs: 0 } },
  default: def,
});

/** Each key declared `emqx`: accepted, so EMQX's files load unchanged, and not acted on. */
export const acceptedOnly = (...keys: string[]): Record<string, Field> => Object.fromEntries(keys.map((k) => [k, emqx]));

/** The `ssl_options` keys EMQX's MQTT and dashboard listeners have and this node does not use. */
export const UNUSED_SSL_OPTIONS = acceptedOnly(
  'cacerts',
  'reuse_sessions',
  'secure_renegotiate',
  'client_renegotiation',
  'dhfile',
  'log_level',
  'hibernate_after',
  'gc_after_handshake',
  'ocsp',
  'enable_crl_check',
  'partial_chain',
  'verify_peer_ext_key_usage',
  'user_lookup_fun',
  'middlebox_comp_mode',
);

/** A rate limit, `infinity` unless set. */
export const rate = (bytes: boolean): Field => ({ type: { kind: 'rate', bytes }, default: 'infinity' });
