// EMQX's `alarm` (what an alarm does and how long it is kept), `sysmon` (the thresholds the node
// checks itself against), `conn_congestion` (an alarm per client whose socket backs up) and
// `overload_protection` (new connections refused while the node is overloaded), with EMQX's
// defaults (emqx_schema). Of `sysmon.vm`, which watches Erlang processes and ports, the process
// keys watch this node's open files, `long_schedule` and `long_gc` its event loop and its
// collector (loop-watch.ts); the others are accepted and not used.
import { acceptedOnly, bool, duration, emqx, int, object } from './builders.js';
import type { Field } from './fields.js';

const percent = (def: string): Field => ({ type: { kind: 'percent' }, default: def });
/** A duration in ms, or `disabled` (0). */
const disabledOr = (def: string): Field => ({ type: { kind: 'word_or', words: { disabled: 0 }, of: { kind: 'duration', integerUnitMs: 1, minMs: 1 } }, default: def });

export const ALARM_FIELDS: Readonly<Record<string, Field>> = {
  actions: { type: { kind: 'string_list', values: ['log', 'publish'] }, default: ['log', 'publish'] },
  size_limit: int(1, 3000, 1000),
  validity_period: duration('24h', 1000),
};

export const SYSMON_FIELDS: Readonly<Record<string, Field>> = {
  os: object({
    cpu_check_interval: duration('60s', 1000),
    cpu_high_watermark: percent('80%'),
    cpu_low_watermark: percent('60%'),
    mem_check_interval: { type: { kind: 'word_or', words: { disabled: 0 }, of: { kind: 'duration', integerUnitMs: 1, minMs: 1000 } }, default: '60s' },
    sysmem_high_watermark: percent('70%'),
    // The memory of one Erlang process against the system's: a node has no such processes.
    procmem_high_watermark: emqx,
  }),
  // An Erlang node's connections are processes and its limit is the process table; a Node.js
  // node's connections are open files and its limit is the open-file limit: the process keys
  // watch open files here.
  vm: object({
    process_check_interval: duration('30s', 1000),
    process_high_watermark: percent('80%'),
    process_low_watermark: percent('60%'),
    long_gc: disabledOr('disabled'),
    long_schedule: disabledOr('240ms'),
    ...acceptedOnly('large_heap', 'busy_dist_port', 'busy_port'),
  }),
  top: object(acceptedOnly('num_items', 'sample_interval', 'max_procs', 'db_hostname', 'db_port', 'db_username', 'db_password', 'db_name')),
};

export const CONN_CONGESTION_FIELDS: Readonly<Record<string, Field>> = {
  enable_alarm: bool(true),
  min_alarm_sustain_duration: duration('1m'),
};

// EMQX's backoff_gc, backoff_hibernation and backoff_delay skip or defer work of Erlang processes
// (forced collections, hibernation, cleanup) that a Node.js node does not do: accepted, not used.
export const OVERLOAD_PROTECTION_FIELDS: Readonly<Record<string, Field>> = {
  enable: bool(false),
  backoff_new_conn: bool(true),
  ...acceptedOnly('backoff_delay', 'backoff_gc', 'backoff_hibernation'),
};
