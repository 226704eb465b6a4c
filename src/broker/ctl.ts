// `emqx ctl clients | subscriptions | topics | retainer | broker | listeners`, with EMQX's output
// (emqx_mgmt_cli, emqx_retainer_cli). Where EMQX prints a failure and exits 0, the text is
// EMQX's and the exit code is 1.
import { formatUsage } from '../ctl/registry.js';
import type { CtlCommand, CtlResult } from '../ctl/types.js';
import type { Listeners } from '../mqtt/listeners.js';
import type { QoS } from '../mqtt/port.js';
import { parseShared, validateFilter } from '../mqtt/topic.js';
import type { Broker } from './broker.js';
import type { Session } from './session.js';
import { datetime, SYSDESCR } from './sys.js';

export interface BrokerCtlHost {
  readonly node: string;
  readonly version: string;
  readonly startedAt: number;
  readonly broker: Broker;
  readonly listeners: Listeners;
  /** The cluster's routes as [filter, node] (shared groups as their filter), when clustered. */
  routes?(): Iterable<readonly [string, string]>;
  /** Closes a client on whichever node holds its session (`clients kick`), when clustered. */
  kick?(clientId: string): Promise<boolean>;
}

const ok = (output: string): CtlResult => ({ code: 0, output });
const fail = (output: string): CtlResult => ({ code: 1, output });
const usage = (u: CtlCommand['usage']): CtlResult => fail(formatUsage(u));

/** `Client(...)` as emqx_mgmt_cli prints it. */
export function clientLine(s: Session): string {
  const c = s.client;
  const expiry = s.expiryMs === Number.POSITIVE_INFINITY ? 0xffffffff : Math.floor(s.expiryMs / 1000);
  const fields = [
    `username=${c.username ?? 'undefined'}`,
    `peername=${c.peer}`,
    `clean_start=${c.cleanStart}`,
    `keepalive=${c.keepalive}`,
    `session_expiry_interval=${expiry}`,
    `subscriptions=${s.subscriptions.size}`,
    `inflight=${s.inflight.size}`,
    `awaiting_rel=${s.awaiting.size}`,
    `delivered_msgs=${s.delivered}`,
    `enqueued_msgs=${s.queue.length}`,
    `dropped_msgs=${s.queue.dropped}`,
    `connected=${s.outlet !== undefined}`,
    `created_at=${s.createdAt}`,
    `connected_at=${c.connectedAt}`,
  ];
  if (s.disconnectedAt !== undefined) fields.push(`disconnected_at=${s.disconnectedAt}`);
  return `Client(${c.clientId}, ${fields.join(', ')})\n`;
}

function subscriptionLines(s: Session): string {
  let out = '';
  for (const [filter, o] of s.subscriptions) out += `${s.clientId} -> topic:${filter} qos:${o.qos} nl:${Number(o.nl)} rh:${o.rh} rap:${Number(o.rap)}\n`;
  return out;
}

/** emqx_utils_calendar:human_readable_duration_string: `2 days, 3 hours, 4 minutes, 5 seconds`. */
export function humanDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['days', 86_400], ['hours', 3_600], ['minutes', 60]] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n} ${unit}`);
  }
  parts.push(`${s} seconds`);
  return parts.join(', ');
}

const pad = (s: string, n: number): string => s.padEnd(n);

export function brokerCommands(h: BrokerCtlHost): CtlCommand[] {
  const b = h.broker;
  const clientsUsage: CtlCommand['usage'] = [
    ['clients list', 'List all clients'],
    ['clients show <ClientId>', 'Show a client'],
    ['clients kick <ClientId>', 'Kick out a client'],
  ];
  const subsUsage: CtlCommand['usage'] = [
    ['subscriptions list', 'List all subscriptions'],
    ['subscriptions show <ClientId>', 'Show subscriptions of a client'],
    ['subscriptions add <ClientId> <Topic> <QoS>', 'Add a static subscription manually'],
    ['subscriptions del <ClientId> <Topic>', 'Delete a static subscription manually'],
  ];
  const topicsUsage: CtlCommand['usage'] = [
    ['topics list', 'List all topics'],
    ['topics show <Topic>', 'Show a topic'],
  ];
  const retainerUsage: CtlCommand['usage'] = [
    ['retainer info', 'Show the count of retained messages'],
    ['retainer topics', 'Same as retainer topic 1 1000'],
    ['retainer topics <Start> <Limit>', 'Show topics of retained messages by the specified range'],
    ['retainer clean', 'Clean all retained messages'],
    ['retainer clean <Topic>', 'Clean retained messages by the specified topic filter'],
  ];
  const brokerUsage: CtlCommand['usage'] = [
    ['broker', 'Show broker version, uptime and description'],
    ['broker stats', 'Show broker statistics of clients, topics, subscribers'],
    ['broker metrics', 'Show broker metrics'],
  ];
  const listenersUsage: CtlCommand['usage'] = [
    ['listeners', 'List listeners'],
    ['listeners stop    <Identifier>', 'Stop a listener'],
    ['listeners start   <Identifier>', 'Start a listener'],
    ['listeners restart <Identifier>', 'Restart a listener'],
  ];

  /** Every route, `filter -> node`, sorted: the cluster's when clustered, else this node's. */
  const routes = (): Array<readonly [string, string]> => {
    const out = new Map<string, readonly [string, string]>();
    const add = (f: string, n: string): void => void out.set(`${f}\u0000${n}`, [f, n]);
    if (h.routes) for (const [f, n] of h.routes()) add(f, n);
    else {
      for (const f of b.subs.filters()) add(f, h.node);
      for (const f of b.shared.filters()) add(f, h.node);
    }
    return [...out.values()].sort(([a, x], [b2, y]) => (a < b2 ? -1 : a > b2 ? 1 : x < y ? -1 : x > y ? 1 : 0));
  };

  return [
    {
      name: 'clients',
      usage: clientsUsage,
      async run(args) {
        const [verb, id, ...rest] = args;
        if (verb === 'list' && id === undefined) {
          if (b.sessions.size === 0) return ok('No clients.\n');
          return ok([...b.sessions.values()].map(clientLine).join(''));
        }
        if (verb === 'show' && id !== undefined && rest.length === 0) {
          const s = b.sessions.get(id);
          return s ? ok(clientLine(s)) : fail('Not Found.\n');
        }
        if (verb === 'kick' && id !== undefined && rest.length === 0) return (h.kick ? await h.kick(id) : b.kick(id)) ? ok('ok\n') : fail('Not Found.\n');
        return usage(clientsUsage);
      },
    },
    {
      name: 'subscriptions',
      usage: subsUsage,
      run(args) {
        const [verb, id, topic, qos, ...rest] = args;
        if (rest.length > 0) return usage(subsUsage);
        if (verb === 'list' && id === undefined) {
          const out = [...b.sessions.values()].map(subscriptionLines).join('');
          return ok(out === '' ? 'No subscriptions.\n' : out);
        }
        if (verb === 'show' && id !== undefined && topic === undefined) {
          const s = b.sessions.get(id);
          const out = s ? subscriptionLines(s) : '';
          return out === '' ? fail('Not Found.\n') : ok(out);
        }
        if (verb === 'add' && id !== undefined && topic !== undefined && qos !== undefined) {
          if (!/^[012]$/.test(qos)) return fail('QoS should be 0, 1, 2\n');
          const s = b.sessions.get(id);
          if (!s?.outlet) return fail('Error: Channel not found!');
          if (validateFilter(topic, Number.MAX_SAFE_INTEGER)) return fail(`Error: invalid topic filter '${topic}'\n`);
          const shared = parseShared(topic);
          const r = s.subscribe(topic, { qos: Number(qos) as QoS, nl: false, rap: false, rh: shared ? 2 : 0 });
          r.afterAck?.();
          return r.rc >= 0x80 ? fail(`Error: subscription refused (reason code 0x${r.rc.toString(16)})\n`) : ok('ok\n');
        }
        if (verb === 'del' && id !== undefined && topic !== undefined && qos === undefined) {
          const s = b.sessions.get(id);
          if (!s?.outlet) return fail('Error: Channel not found!');
          s.unsubscribe(topic);
          return ok('ok\n');
        }
        return usage(subsUsage);
      },
    },
    {
      name: 'topics',
      usage: topicsUsage,
      run(args) {
        const [verb, topic, ...rest] = args;
        if (rest.length > 0) return usage(topicsUsage);
        if (verb === 'list' && topic === undefined) {
          const all = routes();
          return ok(all.length === 0 ? 'No topics.\n' : all.map(([f, n]) => `${f} -> ${n}\n`).join(''));
        }
        if (verb === 'show' && topic !== undefined) {
          return ok(routes().filter(([f]) => f === topic).map(([f, n]) => `${f} -> ${n}\n`).join(''));
        }
        return usage(topicsUsage);
      },
    },
    {
      name: 'retainer',
      usage: retainerUsage,
      async run(args) {
        const r = b.retainer;
        const [verb, a, c, ...rest] = args;
        if (rest.length > 0) return usage(retainerUsage);
        const known = (verb === 'info' && a === undefined) || (verb === 'topics' && (a === undefined) === (c === undefined)) || (verb === 'clean' && c === undefined);
        if (!known) return usage(retainerUsage);
        if (!r.config.enable) return fail('Retainer is not enabled\n');
        const count = `Number of retained messages: ${r.size}\n`;
        if (verb === 'info') return ok(count);
        if (verb === 'topics') {
          const start = a === undefined ? 1 : Number(a);
          const limit = c === undefined ? 1000 : Number(c);
          if (!Number.isInteger(start) || start < 1 || !Number.isInteger(limit) || limit < 0) return usage(retainerUsage);
          const topics = [...r.topics()].sort().slice((start - 1) * limit, start * limit);
          return ok(count + topics.map((t) => `${t}\n`).join(''));
        }
        await r.clean(a);
        return ok('');
      },
    },
    {
      name: 'broker',
      usage: brokerUsage,
      run(args) {
        const [verb, ...rest] = args;
        if (rest.length > 0) return usage(brokerUsage);
        if (verb === undefined) {
          return ok(
            `${pad('sysdescr', 10)}: ${SYSDESCR}\n${pad('version', 10)}: ${h.version}\n${pad('datetime', 10)}: ${datetime()}\n${pad('uptime', 10)}: ${humanDuration(Date.now() - h.startedAt)}\n`,
          );
        }
        if (verb === 'stats') return ok(Object.entries(b.stats()).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `${pad(k, 30)}: ${v}\n`).join(''));
        if (verb === 'metrics') return ok(Object.entries(b.counters).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `${pad(k, 30)}: ${v}\n`).join(''));
        return usage(brokerUsage);
      },
    },
    {
      name: 'listeners',
      usage: listenersUsage,
      async run(args) {
        const [verb, id, ...rest] = args;
        if (verb === undefined) {
          let out = '';
          for (const l of h.listeners.list()) {
            out += `${l.id}\n`;
            const row = (k: string, v: string): void => {
              out += `  ${pad(k, 16)}: ${v}\n`;
            };
            row('listen_on', l.bind);
            row('acceptors', '1');
            row('proxy_protocol', String(l.proxyProtocol));
            // Sic: emqx_mgmt_cli prints the key misspelt, and scripts read it so.
            row('enbale', String(l.enable));
            row('running', String(l.running));
            if (l.running) {
              row('current_conn', String(l.currentConns));
              row('max_conns', l.maxConns === Number.POSITIVE_INFINITY ? 'infinity' : String(l.maxConns));
              // esockd's shape: one {reason,count} per reason that happened.
              const counts = [
                ...(l.shutdownCount > 0 ? [`{max_conns_reached,${l.shutdownCount}}`] : []),
                ...(l.deniedCount > 0 ? [`{access_denied,${l.deniedCount}}`] : []),
                ...(l.proxyRefused > 0 ? [`{proxy_protocol_error,${l.proxyRefused}}`] : []),
                ...(l.overloadRefused > 0 ? [`{overloaded,${l.overloadRefused}}`] : []),
              ];
              row('shutdown_count', `[${counts.join(',')}]`);
            } else if (l.note) row('not_running', l.note);
          }
          return ok(out);
        }
        if (id === undefined || rest.length > 0 || !['start', 'stop', 'restart'].includes(verb)) return usage(listenersUsage);
        const [done, failed] = verb === 'stop' ? ['Stop', 'stop'] : verb === 'start' ? ['Started', 'start'] : ['Restarted', 'restart'];
        try {
          if (verb === 'stop') await h.listeners.stopListener(id);
          else if (verb === 'start') await h.listeners.startListener(id);
          else await h.listeners.restartListener(id);
          return ok(`${done} ${id} listener successfully.\n`);
        } catch (err) {
          return fail(`Failed to ${failed} ${id} listener: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      },
    },
  ];
}
