// Message ids as EMQX shows them (emqx_guid:to_hexstr): 32 upper-case hex digits. Ours start
// with the time in ms, so ids sort by when the message was taken; the rest is random.
import { randomBytes } from 'node:crypto';

export function newMessageId(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  return b.toString('hex').toUpperCase();
}
