// The floor of a Node.js MQTT server, as a reference for bench/mqtt/mqtt.bench.ts: the least a
// Node.js process must do to pass the benchmark's QoS 0 rows (MQTT 3.1.1): CONNECT answered by a
// fixed CONNACK, SUBSCRIBE recorded under its exact topic and answered, a QoS 0 PUBLISH written
// as it came to the subscribers of its topic, PINGREQ, DISCONNECT. No validation, sessions,
// wildcards, limits, metrics or logging: whatever a broker does beyond this is its own cost, and
// what this process cannot reach, no broker on Node.js reaches on this machine. Not a broker.
//
//   node bench/mqtt/node-floor.mjs --port 18830 [--host 127.0.0.1] [--forward-port 18831]
//
// With --forward-port, every PUBLISH is also written as it came to a second node-floor on that
// port (one connection, made at start): the least a hop between two Node.js processes costs, the
// floor of the cluster benchmark's cross-node latency rows.
//
// Prints "ready <port>" once listening; SIGTERM or SIGINT closes it.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, 'forward-port': { type: 'string' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !values.host.startsWith('127.')) {
  process.stderr.write('usage: node-floor.mjs --port <port> [--host 127.0.0.x]\n');
  process.exit(2);
}

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
/** The next node-floor, if any: a client connection every PUBLISH is copied to. */
let forward = null;
if (values['forward-port'] !== undefined) {
  forward = net.connect({ port: Number(values['forward-port']), host: values.host, noDelay: true });
  const id = Buffer.from(`floor-${process.pid}`);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, 0, id.length]), id]);
  forward.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  forward.on('data', () => undefined);
  forward.on('error', (err) => {
    process.stderr.write(`node-floor.mjs: the forward connection: ${err.message}\n`);
    process.exit(1);
  });
}
const PINGRESP = Buffer.from([0xd0, 0x00]);
/** Exact topic → the sockets subscribed to it. */
const subs = new Map();

function packet(sock, type, frame, bodyAt) {
  switch (type) {
    case 1: // CONNECT
      sock.write(CONNACK);
      return;
    case 3: {
      // PUBLISH (QoS 0): forwarded as it came.
      const len = frame.readUInt16BE(bodyAt);
      const to = subs.get(frame.toString('latin1', bodyAt + 2, bodyAt + 2 + len));
      if (to) for (const s of to) s.write(frame);
      if (forward && sock !== forward) forward.write(frame);
      return;
    }
    case 8: {
      // SUBSCRIBE: packet id, then (topic, options) pairs; every one granted QoS 0.
      const id = frame.readUInt16BE(bodyAt);
      let i = bodyAt + 2;
      const granted = [];
      while (i < frame.length) {
        const len = frame.readUInt16BE(i);
        const topic = frame.toString('latin1', i + 2, i + 2 + len);
        let set = subs.get(topic);
        if (!set) subs.set(topic, (set = new Set()));
        set.add(sock);
        sock.topics.push(topic);
        granted.push(0);
        i += 3 + len;
      }
      sock.write(Buffer.from([0x90, 2 + granted.length, id >> 8, id & 0xff, ...granted]));
      return;
    }
    case 12: // PINGREQ
      sock.write(PINGRESP);
      return;
    case 14: // DISCONNECT
      sock.end();
      return;
    default:
  }
}

const server = net.createServer({ noDelay: true }, (sock) => {
  sock.topics = [];
  let pending = null;
  sock.on('data', (chunk) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      // Fixed header: type, then the remaining length (1 to 4 bytes).
      if (buf.length - at < 2) break;
      let len = 0;
      let mul = 1;
      let i = at + 1;
      let b;
      do {
        if (i >= buf.length) break;
        b = buf[i++];
        len += (b & 0x7f) * mul;
        mul *= 128;
      } while (b & 0x80);
      if (b & 0x80 || i + len > buf.length) break;
      const frame = at === 0 && i + len === buf.length ? buf : buf.subarray(at, i + len);
      packet(sock, buf[at] >> 4, frame, i - at);
      at = i + len;
    }
    pending = at < buf.length ? Buffer.from(buf.subarray(at)) : null;
  });
  sock.on('close', () => {
    for (const t of sock.topics) subs.get(t)?.delete(sock);
  });
  sock.on('error', () => undefined);
});
server.on('error', (err) => {
  process.stderr.write(`node-floor.mjs: ${err.message}\n`);
  process.exit(1);
});
server.listen({ port, host: values.host, backlog: 1024 }, () => process.stdout.write(`ready ${port}\n`));

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
