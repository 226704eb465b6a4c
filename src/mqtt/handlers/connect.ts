// CONNECT → CONNACK (MQTT 3.1.1 §3.1-3.2, MQTT 5.0 §3.1-3.2): the client's identity, keepalive,
// session and will are checked against the mqtt.* limits, the broker opens or resumes the
// session (taking it over from another connection), and the CONNACK says what was granted.
import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { validateTopicName, describeTopicProblem } from '../topic.js';
import type { Channel } from '../channel.js';
import type { ProtocolVersion } from '../codec.js';
import type { WillMessage } from '../port.js';
import { RC, reasonName, v3ConnackCode } from '../reason-codes.js';
import { messageFrom } from './message.js';
import { autoSubscribe } from './subscribe.js';
import { authExchange } from './auth.js';

const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const CONNACK_ACCEPTED_PRESENT = Buffer.from([0x20, 0x02, 0x01, 0x00]);

/** v5 Session Expiry Interval 0xFFFFFFFF: the session never expires. */
const NEVER = 0xffffffff;

/** Refuses the connection with a CONNACK carrying `rc` (mapped for 3.1/3.1.1), then closes. */
function refuse(ch: Channel, rc: number, reason: string): void {
  const c = ch.env.counters;
  c['packets.connack.sent']++;
  c['packets.connack.error']++;
  if (rc === RC.badUsernameOrPassword || rc === RC.notAuthorized) c['packets.connack.auth_error']++;
  const p: IConnackPacket = ch.v5 ? { cmd: 'connack', sessionPresent: false, reasonCode: rc } : { cmd: 'connack', sessionPresent: false, returnCode: v3ConnackCode(rc) };
  ch.send(p);
  ch.closeWith(rc, `CONNECT refused (${reasonName(rc)}): ${reason}`, false);
}

/**
 * The listener's mountpoint for one client, its placeholders filled in as EMQX's
 * emqx_mountpoint:replvar does: `${clientid}`, `${username}` (left as written when the client
 * has none), `${peerhost}`; any other placeholder stays as written.
 */
export function mountpointFor(mountpoint: string, clientId: string, username: string | undefined, peer: string): string {
  if (!mountpoint.includes('${')) return mountpoint;
  const host = peer.slice(0, peer.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  return mountpoint.replace(/\$\{(clientid|username|peerhost)\}/g, (whole, name: string) => (name === 'clientid' ? clientId : name === 'peerhost' ? host : (username ?? whole)));
}

export async function handleConnect(ch: Channel, p: IConnectPacket): Promise<void> {
  const cfg = ch.settings.mqtt;
  const version = (p.protocolVersion ?? 4) as ProtocolVersion;
  ch.codec.setVersion(version);
  const v5 = version === 5;
  const props = p.properties ?? {};
  ch.env.counters['client.connect']++;

  // Enhanced authentication: the chain's scram authenticators offer their methods.
  const method = props.authenticationMethod;
  if (method !== undefined && !ch.env.access) return refuse(ch, RC.badAuthenticationMethod, `authentication method '${method.slice(0, 64)}' is not supported`);
  ch.authMethod = method;
  if (v5 && (props.receiveMaximum === 0 || props.maximumPacketSize === 0)) return refuse(ch, RC.protocolError, 'Receive Maximum and Maximum Packet Size may not be 0');

  let clientId = p.clientId;
  // ssl/wss: the certificate may stand for the user name or client id (mqtt.peer_cert_as_*).
  const cert = ch.peerCert;
  let username = cert && cfg.peer_cert_as_username !== 'disabled' ? cert[cfg.peer_cert_as_username] : p.username;
  if (cert && cfg.peer_cert_as_clientid !== 'disabled' && cert[cfg.peer_cert_as_clientid] !== undefined) clientId = cert[cfg.peer_cert_as_clientid]!;
  if (cfg.use_username_as_clientid && username !== undefined && username !== '') clientId = username;
  let assigned: string | undefined;
  const clean = p.clean !== false;
  if (clientId === '') {
    // 3.1 requires an id; 3.1.1 allows none only with a clean session (MQTT-3.1.3-7/8); v5 assigns one.
    if (version === 3 || (version === 4 && !clean)) return refuse(ch, RC.clientIdentifierNotValid, 'empty client id without a clean session');
    clientId = assigned = `emqx_${randomBytes(8).toString('hex')}`;
  }
  if (Buffer.byteLength(clientId) > cfg.max_clientid_len) return refuse(ch, RC.clientIdentifierNotValid, `client id longer than mqtt.max_clientid_len (${cfg.max_clientid_len})`);
  ch.mountpoint = mountpointFor(ch.settings.mountpoint, clientId, username, ch.io.peer);

  // Bans, flapping and authentication, before anything of the client is kept.
  let authData: Buffer | undefined;
  const access = ch.env.access;
  if (access) {
    let a = await access.connect({
      clientId,
      username,
      password: p.password,
      peer: ch.io.peer,
      listener: ch.settings.listener,
      protoName: p.protocolId ?? 'MQTT',
      mountpoint: ch.mountpoint,
      ...(cert?.cn !== undefined ? { certCommonName: cert.cn } : {}),
      ...(ch.settings.enableAuthn !== undefined ? { enableAuthn: ch.settings.enableAuthn } : {}),
      ...(method !== undefined ? { authMethod: method, ...(props.authenticationData ? { authData: props.authenticationData } : {}) } : {}),
    });
    if (ch.state === 'closed') return;
    if (method !== undefined) {
      const done = await authExchange(ch, method, a);
      if (done === undefined) return;
      a = done;
    }
    if (a.ok === 'continue') return refuse(ch, RC.protocolError, 'an authentication exchange without an Authentication Method');
    if (!a.ok) return refuse(ch, a.rc, a.reason);
    ch.access = a.access;
    ch.authExpiresAt = a.expiresAt;
    authData = a.authData;
    // A SCRAM client that sent no user name is the user it proved to be.
    if (a.username !== undefined) {
      username = a.username;
      ch.mountpoint = mountpointFor(ch.settings.mountpoint, clientId, username, ch.io.peer);
    }
  }

  // Will message.
  let will: WillMessage | undefined;
  if (p.will) {
    const w = p.will;
    const problem = validateTopicName(w.topic, cfg.max_topic_levels);
    if (problem) return refuse(ch, RC.topicNameInvalid, `will topic: ${describeTopicProblem(problem)}`);
    const wqos = (w.qos ?? 0) as 0 | 1 | 2;
    if (wqos > cfg.max_qos_allowed) return refuse(ch, RC.qosNotSupported, `will QoS ${wqos} is above mqtt.max_qos_allowed`);
    if (w.retain && !cfg.retain_available) return refuse(ch, RC.retainNotSupported, 'will retain while mqtt.retain_available = false');
    const payload = Buffer.from(w.payload as Buffer);
    if (w.properties?.payloadFormatIndicator && !isUtf8(payload)) return refuse(ch, RC.payloadFormatInvalid, 'will payload is marked UTF-8 and is not');
    // A will the client may not publish is dropped now (EMQX checks when it would go out).
    const mayPublish = ch.access === undefined || (await ch.access.allow('publish', w.topic, wqos, w.retain === true));
    if (ch.state === 'closed') return;
    if (!mayPublish) ch.env.limited.warn(`${ch.settings.listener}:will_denied`, { clientid: clientId, topic: w.topic.slice(0, 200) }, 'will message dropped: not authorized to publish to its topic');
    // The will is published as the client would have: built once the client id is known.
    const delayMs = (w.properties?.willDelayInterval ?? 0) * 1000;
    if (mayPublish) will = { delayMs, msg: { ...messageFrom(ch, w.topic, payload, wqos, w.retain === true, w.properties), from: clientId } };
  }

  // Session lifetime: v5 asks; 3.x has clean session (0) or a persistent one (mqtt.session_expiry_interval).
  let expiryMs: number;
  let expiryChanged = false;
  if (v5) {
    const asked = props.sessionExpiryInterval ?? 0;
    expiryMs = asked === NEVER ? Number.POSITIVE_INFINITY : asked * 1000;
    if (expiryMs > cfg.session_expiry_interval) {
      expiryMs = cfg.session_expiry_interval;
      expiryChanged = true;
    }
  } else {
    expiryMs = clean ? 0 : cfg.session_expiry_interval;
  }
  ch.sessionExpiryMs = expiryMs;

  // Keepalive: mqtt.server_keepalive is the longest a v5 client may go silent. One asking for
  // none or for more gets it in the CONNACK (as the MQTT 5 reference broker does); a shorter one
  // keeps its own. 3.x clients cannot be told, so they keep theirs.
  const asked = p.keepalive ?? 0;
  const capped = v5 && cfg.server_keepalive > 0 && (asked === 0 || asked > cfg.server_keepalive);
  const keepalive = capped ? cfg.server_keepalive : asked;
  ch.keepalive = keepalive;
  ch.maxPacketSize = props.maximumPacketSize ?? Number.POSITIVE_INFINITY;
  ch.aliasMaxOut = v5 ? (props.topicAliasMaximum ?? 0) : 0;
  ch.client = {
    clientId,
    username,
    peer: ch.io.peer,
    listener: ch.settings.listener,
    sockport: ch.settings.port,
    protoVer: version,
    keepalive,
    cleanStart: clean,
    connectedAt: Date.now(),
  };
  ch.will = will;

  const result = await ch.env.broker.connect({
    client: ch.client,
    cleanStart: clean,
    sessionExpiryMs: expiryMs,
    ...(will ? { will } : {}),
    receiveMaximum: props.receiveMaximum ?? 65535,
    outlet: ch,
  });
  if (ch.state === 'closed') {
    // The client went away while the session was being opened.
    if (result.ok) result.session.detach({ will: true, reason: 'sock_closed' });
    return;
  }
  if (!result.ok) return refuse(ch, result.rc, result.reason);
  ch.session = result.session;

  const c = ch.env.counters;
  c['packets.connack.sent']++;
  c['client.connack']++;
  c['client.connected']++;
  if (v5) {
    const properties: NonNullable<IConnackPacket['properties']> = {
      // What this side takes unacknowledged from the client: QoS 2 messages awaiting PUBREL
      // (QoS 1 is acknowledged at once). One more is answered with DISCONNECT 0x93.
      receiveMaximum: Math.min(cfg.max_awaiting_rel, 65535),
      maximumPacketSize: cfg.max_packet_size,
      topicAliasMaximum: cfg.max_topic_alias,
    };
    if (assigned !== undefined) properties.assignedClientIdentifier = assigned;
    if (expiryChanged) properties.sessionExpiryInterval = expiryMs === Number.POSITIVE_INFINITY ? NEVER : Math.floor(expiryMs / 1000);
    if (!cfg.retain_available) properties.retainAvailable = false;
    if (cfg.max_qos_allowed < 2) properties.maximumQoS = cfg.max_qos_allowed;
    if (!cfg.wildcard_subscription) properties.wildcardSubscriptionAvailable = false;
    if (!cfg.shared_subscription) properties.sharedSubscriptionAvailable = false;
    if (capped) properties.serverKeepAlive = keepalive;
    if (props.requestResponseInformation && cfg.response_information !== '') properties.responseInformation = cfg.response_information;
    if (method !== undefined) {
      properties.authenticationMethod = method;
      if (authData) properties.authenticationData = authData;
    }
    ch.send({ cmd: 'connack', sessionPresent: result.sessionPresent, reasonCode: RC.success, properties });
  } else {
    // Four fixed bytes: no need for the general encoder on every connect.
    ch.sendRaw(result.sessionPresent ? CONNACK_ACCEPTED_PRESENT : CONNACK_ACCEPTED);
  }
  ch.connected();
  autoSubscribe(ch);
}
