// aedes 1.x as a reference broker for bench/mqtt/mqtt.bench.ts: plain TCP on a loopback address,
// in-memory persistence (its default), one process of its own so that its CPU and RSS are its own.
// Plain JavaScript run by `node` itself, so no TypeScript loader sits in the measured process.
//
//   node bench/mqtt/aedes-server.mjs --port 18830 [--host 127.0.0.1]
//
// Prints "ready <port>" once listening; SIGTERM or SIGINT closes it.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: aedes-server.mjs --port <port> [--host 127.0.0.1]\n');
  process.exit(2);
}
if (!values.host.startsWith('127.')) {
  process.stderr.write('aedes-server.mjs: loopback addresses only (127.0.0.0/8)\n');
  process.exit(2);
}

const broker = await Aedes.createBroker();
// Client errors (a load generator closing its sockets at the end of a run) are part of the
// workload, not news: printing each would cost more than handling it.
broker.on('clientError', () => undefined);
broker.on('connectionError', () => undefined);

// noDelay as EMQX's listeners (tcp_options.nodelay = true) and mosquitto with set_tcp_nodelay in
// this benchmark: latency rows then compare brokers, not Nagle's algorithm.
const server = net.createServer({ noDelay: true }, broker.handle);
server.on('error', (err) => {
  process.stderr.write(`aedes-server.mjs: ${err.message}\n`);
  process.exit(1);
});
server.listen({ port, host: values.host, backlog: 1024 }, () => process.stdout.write(`ready ${port}\n`));

const stop = () => {
  server.close();
  broker.close(() => process.exit(0));
  // connections still open keep the server alive: do not wait for them
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
