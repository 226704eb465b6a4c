// EMQX's auto subscribe (`auto_subscribe.topics = [{topic, qos, rh, rap, nl}]`): every client is
// subscribed to these when it connects, as if it had sent the SUBSCRIBE (no SUBACK, no
// authorization check, retained messages as its `rh` says). `${clientid}`, `${username}`,
// `${host}` and `${port}` in a topic are the client's; a topic naming the username of a client
// without one is skipped, as in EMQX; so is one whose client id or username holds a wildcard
// (`inbox/${clientid}` must not become `inbox/#` for the client `#`). Pure.
import type { AutoSubscribeTopic } from '../config/types.js';
import type { QoS, SubOptions } from '../mqtt/port.js';
import { validateFilter } from '../mqtt/topic.js';

export interface AutoSubscription {
  readonly filter: string;
  readonly opts: SubOptions;
}

export interface Who {
  readonly clientId: string;
  readonly username: string | undefined;
  /** `ip:port` or `[ipv6]:port`. */
  readonly peer: string;
}

const WILD = /[+#]/;

export function autoSubscriptions(topics: readonly AutoSubscribeTopic[], who: Who): AutoSubscription[] {
  if (topics.length === 0) return [];
  const colon = who.peer.lastIndexOf(':');
  const host = (colon < 0 ? who.peer : who.peer.slice(0, colon)).replace(/^\[(.*)\]$/, '$1');
  const port = colon < 0 ? '' : who.peer.slice(colon + 1);
  const out: AutoSubscription[] = [];
  for (const t of topics) {
    if (t.topic.includes('${username}') && (who.username === undefined || who.username === '' || WILD.test(who.username))) continue;
    if (t.topic.includes('${clientid}') && WILD.test(who.clientId)) continue;
    const filter = t.topic.split('${clientid}').join(who.clientId).split('${username}').join(who.username ?? '').split('${host}').join(host).split('${port}').join(port);
    if (validateFilter(filter, Number.POSITIVE_INFINITY) !== undefined) continue;
    out.push({ filter, opts: { qos: t.qos as QoS, rh: t.rh as 0 | 1 | 2, rap: t.rap === 1, nl: t.nl === 1 } });
  }
  return out;
}
