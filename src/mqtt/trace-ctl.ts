// `emqx ctl trace`: EMQX's node-local log trace, with its words and strings. A trace writes to the
// file named (relative paths from the install directory, as EMQX's working directory) until it
// is stopped or the node stops.
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { createRotatingFile } from '../base/rotating-file.js';
import { LOG_LEVELS, isLogLevel } from '../config/log-level.js';
import { formatUsage } from '../ctl/registry.js';
import type { CtlCommand } from '../ctl/types.js';
import { validateFilter, describeTopicProblem } from './topic.js';
import type { TraceSink, TraceType, Tracer } from './tracer.js';

const TYPES: Readonly<Record<string, TraceType>> = { client: 'clientid', topic: 'topic', ip_address: 'ip_address' };

const USAGE: CtlCommand['usage'] = [
  ['trace list', 'List all traces started on local node'],
  ['trace start client <ClientId> <File> [<Level>] [<Formatter>]', 'Traces for a client on local node (Formatter=text|json)'],
  ['trace stop  client <ClientId>', 'Stop tracing for a client on local node'],
  ['trace start topic  <Topic>    <File> [<Level>] [<Formatter>]', 'Traces for a topic on local node (Formatter=text|json)'],
  ['trace stop  topic  <Topic> ', 'Stop tracing for a topic on local node'],
  ['trace start ip_address  <IP>    <File> [<Level>] [<Formatter>]', 'Traces for a client ip on local node (Formatter=text|json)'],
  ['trace stop  ip_address  <IP> ', 'Stop tracing for a client ip on local node'],
];

/**
 * A trace's file: opened now (so a path that cannot be written is the start's error); the lines
 * of one event-loop turn go out in one write. A write that fails (disk full) is `onError`'s, never
 * an exception in the node. (Not pino's async destination: on a write that keeps failing it
 * retries without end, even after `end()`.)
 */
export function openTraceFile(path: string, onError: (err: Error) => void): TraceSink {
  const file = createRotatingFile({ file: path, maxBytes: null, report: (_what, err) => onError(err) });
  let pending: string[] = [];
  const flush = (): void => {
    const lines = pending;
    pending = [];
    if (lines.length > 0) file.write(lines.join(''));
  };
  return {
    write(line) {
      if (pending.push(line) === 1) setImmediate(flush);
    },
    end() {
      flush();
      file.end();
    },
  };
}

/** Why a filter cannot be traced, or undefined. */
function filterProblem(type: TraceType, filter: string): string | undefined {
  if (type === 'topic') {
    const p = validateFilter(filter, Number.MAX_SAFE_INTEGER);
    return p === undefined ? undefined : `invalid topic filter: ${describeTopicProblem(p)}`;
  }
  if (type === 'ip_address' && isIP(filter) === 0) return 'invalid ip_address: not an IPv4 or IPv6 address';
  return filter === '' ? 'empty client id' : undefined;
}

export function traceCommand(tracer: Tracer, root: string): CtlCommand {
  const usage = { code: 1, output: formatUsage(USAGE) };
  return {
    name: 'trace',
    usage: USAGE,
    run: (args) => {
      const [sub, op, filter, file, level = 'all', formatter = 'text', ...rest] = args;
      if (sub === 'list' && args.length === 1) {
        const traces = tracer.list();
        if (traces.length === 0) return { code: 0, output: 'Trace is empty\n' };
        return { code: 0, output: traces.map((t) => `Trace(${t.type}=${t.filter}, level=${t.level}, destination=${JSON.stringify(t.path)})\n`).join('') };
      }
      const type = op === undefined ? undefined : TYPES[op];
      if (type === undefined || filter === undefined) return usage;
      if (sub === 'stop' && args.length === 3) {
        return tracer.stop(type, filter)
          ? { code: 0, output: `stop tracing ${type} ${filter} successfully\n` }
          : { code: 1, output: `[error] stop tracing ${type} ${filter}: not_found\n` };
      }
      if (sub !== 'start' || file === undefined || rest.length > 0 || (formatter !== 'text' && formatter !== 'json')) return usage;
      const name = `CLI-${filter}`;
      const fail = (why: string): { code: number; output: string } => ({ code: 1, output: `[error] trace ${filter} ${name}: ${why}\n` });
      if (!isLogLevel(level)) return fail(`invalid level ${level}; one of ${Object.keys(LOG_LEVELS).join(', ')}`);
      const bad = filterProblem(type, filter);
      if (bad !== undefined) return fail(bad);
      const r = tracer.start({ type, filter, level, path: isAbsolute(file) ? file : resolve(root, file), formatter });
      return r.ok ? { code: 0, output: `trace ${filter} ${name} successfully\n` } : fail(r.error);
    },
  };
}
