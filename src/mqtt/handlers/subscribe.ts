// SUBSCRIBE → SUBACK and UNSUBSCRIBE → UNSUBACK (MQTT 5.0 §3.8-3.11). Each filter is checked on
// its own and gets its own reason code; retained messages for the new subscriptions go out only
// after the SUBACK.
import type { ISubscribePacket, ISubscription, IUnsubscribePacket } from 'mqtt-packet';
import { describeTopicProblem, exclusiveFilter, isWildcard, parseShared, validateFilter } from '../topic.js';
import type { Channel } from '../channel.js';
import type { QoS, SubOptions } from '../port.js';
import { RC } from '../reason-codes.js';

/** One filter of a SUBSCRIBE after the checks of its form: refused with `rc`, or to be authorized. */
type Checked = { readonly rc: number } | { readonly s: ISubscription; readonly filter: string; readonly exclusive: string | undefined; readonly inner: string };

export function handleSubscribe(ch: Channel, p: ISubscribePacket): void {
  const cfg = ch.settings.mqtt;
  const c = ch.env.counters;
  c['packets.subscribe.received']++;
  if (!ch.session) return;
  if (p.properties?.subscriptionIdentifier === 0) return ch.closeWith(RC.protocolError, 'subscription identifier 0');
  const checked: Checked[] = [];
  for (const s of p.subscriptions) {
    const exclusive = exclusiveFilter(s.topic);
    if (exclusive !== undefined && (!cfg.exclusive_subscription || exclusive === '' || parseShared(exclusive) !== undefined)) {
      // EMQX: `$exclusive/` refused as an invalid filter while the feature is off.
      c['packets.subscribe.error']++;
      checked.push({ rc: RC.topicFilterInvalid });
      continue;
    }
    const filter = exclusive ?? s.topic;
    const problem = validateFilter(filter, cfg.max_topic_levels);
    if (problem) {
      c['packets.subscribe.error']++;
      ch.env.limited.warn(`${ch.settings.listener}:bad_filter`, { clientid: ch.clientId, filter: filter.slice(0, 200) }, `SUBSCRIBE refused: ${describeTopicProblem(problem)}`);
      checked.push({ rc: RC.topicFilterInvalid });
      continue;
    }
    const shared = parseShared(filter);
    if (shared !== undefined && typeof shared !== 'string') {
      if (!cfg.shared_subscription) {
        checked.push({ rc: RC.sharedSubscriptionsNotSupported });
        continue;
      }
      // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
      if (s.nl) return ch.closeWith(RC.protocolError, `No Local set on shared subscription '${filter}'`);
    }
    checked.push({ s, filter, exclusive, inner: shared !== undefined && typeof shared !== 'string' ? shared.filter : filter });
  }
  const access = ch.access;
  if (access === undefined) return subscribeChecked(ch, p, checked, undefined);
  const answers = checked.map((x) => ('rc' in x ? true : access.allow('subscribe', x.inner, x.s.qos as QoS, false)));
  if (answers.every((x) => typeof x === 'boolean')) return subscribeChecked(ch, p, checked, answers as boolean[]);
  // A remote source (HTTP, Redis) is asked: the SUBACK, and the client's later packets, wait
  // for every answer.
  ch.holdFor(Promise.all(answers), (allowed) => subscribeChecked(ch, p, checked, allowed));
}

/** The filters authorized (`allowed`, undefined: all) are subscribed; then the SUBACK. */
function subscribeChecked(ch: Channel, p: ISubscribePacket, checked: readonly Checked[], allowed: readonly boolean[] | undefined): void {
  const cfg = ch.settings.mqtt;
  const c = ch.env.counters;
  const session = ch.session;
  if (!session) return;
  const subId = p.properties?.subscriptionIdentifier;
  const codes: Array<number | Promise<number>> = [];
  const after: Array<() => void> = [];
  const waits: Array<Promise<void>> = [];
  for (let i = 0; i < checked.length; i++) {
    const x = checked[i]!;
    if ('rc' in x) {
      codes.push(x.rc);
      continue;
    }
    const { s, filter, exclusive, inner } = x;
    if (allowed !== undefined && !allowed[i]) {
      c['packets.subscribe.auth_error']++;
      ch.env.limited.warn(`${ch.settings.listener}:subscribe_denied`, { clientid: ch.clientId, filter: filter.slice(0, 200) }, 'SUBSCRIBE not authorized');
      if (ch.access?.denyAction === 'disconnect') return ch.closeWith(RC.notAuthorized, `SUBSCRIBE to '${filter.slice(0, 200)}' not authorized`);
      codes.push(RC.notAuthorized);
      continue;
    }
    if (!cfg.wildcard_subscription && isWildcard(inner)) {
      codes.push(RC.wildcardSubscriptionsNotSupported);
      continue;
    }
    const opts: SubOptions = {
      qos: Math.min(s.qos, cfg.max_qos_allowed) as QoS,
      nl: s.nl === true,
      rap: s.rap === true,
      rh: (s.rh ?? 0) as 0 | 1 | 2,
      ...(subId !== undefined ? { subId } : {}),
      ...(exclusive !== undefined ? { exclusive: true as const } : {}),
    };
    const key = mount(ch, rewrite(ch, filter));
    const subscribe = (): number => {
      const r = session.subscribe(key, opts);
      if (r.rc >= 0x80) c['packets.subscribe.error']++;
      else c['client.subscribe']++;
      if (r.afterAck) after.push(r.afterAck);
      if (r.ready) waits.push(r.ready);
      return r.rc;
    };
    if (exclusive === undefined) {
      codes.push(subscribe());
      continue;
    }
    // The lock first (in a cluster, a round trip to the member that decides), then the subscription.
    const clientId = session.clientId;
    codes.push(
      ch.env.broker.claimExclusive(key, clientId).then(
        (held) => {
          if (!held) {
            c['packets.subscribe.error']++;
            return RC.quotaExceeded;
          }
          // The client may have gone while the lock was taken: the lock goes with it.
          if (ch.session !== session) {
            ch.env.broker.releaseExclusive(key, clientId);
            return RC.unspecifiedError;
          }
          const rc = subscribe();
          if (rc >= 0x80) ch.env.broker.releaseExclusive(key, clientId);
          return rc;
        },
        () => RC.unspecifiedError,
      ),
    );
  }
  const suback = (resolved: number[]): void => {
    // 3.1.1 SUBACK has granted QoS or 0x80 only.
    const granted = ch.v5 ? resolved : resolved.map((rc) => (rc >= 0x80 ? 0x80 : rc));
    ch.send({ cmd: 'suback', messageId: p.messageId!, granted });
    c['packets.suback.sent']++;
    for (const f of after) f();
  };
  // A new route is known to every member before the SUBACK: a publish anywhere after it arrives.
  if (waits.length === 0 && codes.every((x) => typeof x === 'number')) suback(codes as number[]);
  else
    void Promise.all(codes).then(async (resolved) => {
      await Promise.all(waits);
      if (ch.state !== 'closed') suback(resolved);
    });
}

export function handleUnsubscribe(ch: Channel, p: IUnsubscribePacket): void {
  const cfg = ch.settings.mqtt;
  const c = ch.env.counters;
  c['packets.unsubscribe.received']++;
  const session = ch.session;
  if (!session) return;
  const codes: number[] = [];
  for (const topic of p.unsubscriptions) {
    const filter = exclusiveFilter(topic) ?? topic;
    if (validateFilter(filter, cfg.max_topic_levels)) {
      c['packets.unsubscribe.error']++;
      codes.push(RC.topicFilterInvalid);
      continue;
    }
    const had = session.unsubscribe(mount(ch, rewrite(ch, filter)));
    if (had) c['client.unsubscribe']++;
    codes.push(had ? RC.success : RC.noSubscriptionExisted);
  }
  if (ch.v5) ch.send({ cmd: 'unsuback', messageId: p.messageId!, granted: codes });
  else ch.send({ cmd: 'unsuback', messageId: p.messageId!, granted: [] });
  c['packets.unsuback.sent']++;
}

/** The filter the topic rewrite rules make of it (after the authorization check, as EMQX). */
function rewrite(ch: Channel, filter: string): string {
  return ch.env.broker.rewriteFilter(filter, ch.clientId ?? '', ch.client?.username);
}

/**
 * The subscriptions of `auto_subscribe`, made as the client's CONNACK goes out: no SUBACK, no
 * authorization check (as EMQX); retained messages follow once the route is known everywhere.
 */
export function autoSubscribe(ch: Channel): void {
  const session = ch.session;
  if (!session || !ch.client) return;
  for (const { filter, opts } of ch.env.broker.autoSubscriptions(ch.client)) {
    const r = session.subscribe(mount(ch, filter), opts);
    if (r.rc < 0x80) ch.env.counters['client.subscribe']++;
    const after = r.afterAck;
    if (after) {
      if (r.ready) void r.ready.then(after);
      else after();
    }
  }
}

/** The filter as the broker sees it: the client's mountpoint after any `$share/<g>/` prefix. */
function mount(ch: Channel, filter: string): string {
  const mp = ch.mountpoint;
  if (mp === '') return filter;
  const shared = parseShared(filter);
  if (shared === undefined || typeof shared === 'string') return mp + filter;
  return filter.slice(0, filter.length - shared.filter.length) + mp + shared.filter;
}
