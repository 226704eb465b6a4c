// MQTT 5 enhanced authentication (MQTT 5.0 §4.12): the AUTH exchange that a CONNECT with an
// Authentication Method starts, and re-authentication (AUTH 0x19) of a connected client. The
// authenticator (auth/authn/scram-authn.ts) says what each step sends; this side carries the
// steps in AUTH packets and checks that every AUTH names the CONNECT's method.
import type { IAuthPacket } from 'mqtt-packet';
import type { Channel } from '../channel.js';
import type { AccessResult } from '../port.js';
import { RC } from '../reason-codes.js';

/** Channels with a re-authentication under way (a second AUTH 0x19 meanwhile is a protocol error). */
const reauthenticating = new WeakSet<Channel>();

/** An AUTH to the client (continue, or success at the end of a re-authentication). */
function sendAuth(ch: Channel, reasonCode: number, method: string, data: Buffer | undefined): void {
  ch.send({ cmd: 'auth', reasonCode, properties: { authenticationMethod: method, ...(data ? { authenticationData: data } : {}) } });
  ch.env.counters['packets.auth.sent']++;
}

/**
 * Carries the steps of an exchange until it ends: each `continue` goes to the client in AUTH 0x18
 * and its answer back to the authenticator. Undefined when the connection ended meanwhile (or
 * was closed here for a protocol error).
 */
export async function authExchange(ch: Channel, method: string, first: AccessResult): Promise<Exclude<AccessResult, { ok: 'continue' }> | undefined> {
  let r = first;
  while (r.ok === 'continue') {
    sendAuth(ch, RC.continueAuthentication, method, r.data);
    const answer = await ch.nextAuth();
    if (answer === undefined || ch.state === 'closed') return undefined;
    if (answer.reasonCode !== RC.continueAuthentication) {
      ch.closeWith(RC.protocolError, `AUTH with reason code 0x${(answer.reasonCode ?? 0).toString(16)} during an authentication exchange (0x18 expected)`, ch.state === 'connected');
      return undefined;
    }
    if (answer.properties?.authenticationMethod !== method) {
      ch.closeWith(RC.protocolError, 'AUTH with another Authentication Method than the CONNECT\'s', ch.state === 'connected');
      return undefined;
    }
    r = await r.next(answer.properties.authenticationData ?? Buffer.alloc(0));
    // The connection may have ended while the step was checked.
    if ((ch.state as string) === 'closed') return undefined;
  }
  return r;
}

/** AUTH from a connected client: re-authentication with the CONNECT's method (§4.12.1). */
export function handleReauth(ch: Channel, p: IAuthPacket): void {
  const method = ch.authMethod;
  const access = ch.env.access;
  if (method === undefined || !access || !ch.client) return ch.closeWith(RC.protocolError, 'AUTH from a client that did not use enhanced authentication');
  if (p.reasonCode !== RC.reAuthenticate) return ch.closeWith(RC.protocolError, `AUTH with reason code 0x${(p.reasonCode ?? 0).toString(16)} while no exchange is under way`);
  if (p.properties?.authenticationMethod !== method) return ch.closeWith(RC.protocolError, 'AUTH with another Authentication Method than the CONNECT\'s');
  if (reauthenticating.has(ch)) return ch.closeWith(RC.protocolError, 'AUTH 0x19 while a re-authentication is under way');
  reauthenticating.add(ch);
  const c = ch.client;
  // The client's other packets go on meanwhile (the spec allows it); only its AUTHs feed the exchange.
  void (async () => {
    const start = await access.reauthenticate({
      clientId: c.clientId,
      username: c.username,
      password: undefined,
      peer: c.peer,
      listener: c.listener,
      mountpoint: ch.mountpoint,
      authMethod: method,
      ...(p.properties?.authenticationData ? { authData: p.properties.authenticationData } : {}),
    });
    if (ch.state === 'closed') return;
    const r = await authExchange(ch, method, start);
    if (r === undefined) return;
    if (!r.ok) return ch.closeWith(r.rc, `re-authentication failed: ${r.reason}`);
    ch.access = r.access;
    ch.authExpiresAt = r.expiresAt;
    sendAuth(ch, RC.success, method, r.authData);
  })()
    .catch((err: unknown) => {
      ch.env.log.error({ peer: ch.io.peer, clientid: ch.clientId, err: err instanceof Error ? err.message : String(err) }, 're-authentication failed');
      ch.closeWith(RC.unspecifiedError, 'internal error during re-authentication');
    })
    .finally(() => reauthenticating.delete(ch));
}
