// What a node's start would refuse though every key is valid on its own: the distribution port
// past 65535, a node name's host in the other IP family than cluster.proto_dist, a name or a
// control socket path longer than the system allows. Checked with the rest of the config, so
// check_config reports them and start never meets them as raw system errors. Pure.
import { isIP } from 'node:net';
import { distPort } from '../node/name.js';
import { controlSocketPath, MAX_FILE_NAME_BYTES, MAX_SOCKET_PATH_BYTES } from '../node/dirs.js';

export interface StartProblem {
  readonly path: readonly string[];
  readonly message: string;
}

const MAX_PORT = 65535;

/** `node` and `cluster` as converted by the schema; keys that failed conversion are absent. */
export function startProblems(node: Readonly<Record<string, unknown>>, cluster: Readonly<Record<string, unknown>>): StartProblem[] {
  const out: StartProblem[] = [];
  const name = typeof node.name === 'string' ? node.name : undefined;
  const base = typeof node.dist_base_port === 'number' ? node.dist_base_port : undefined;
  const dataDir = typeof node.data_dir === 'string' ? node.data_dir : undefined;
  const protoDist = typeof cluster.proto_dist === 'string' ? cluster.proto_dist : undefined;
  if (name !== undefined && base !== undefined) {
    const port = distPort(name, base);
    if (port > MAX_PORT) {
      const namePart = name.slice(0, name.indexOf('@'));
      out.push({
        path: ['node', 'dist_base_port'],
        message: `${base} + ${port - base} (the number at the end of '${namePart}') makes this node's distribution port ${port}, above ${MAX_PORT}: lower node.dist_base_port to at most ${MAX_PORT - (port - base)}`,
      });
    }
  }
  if (name !== undefined && protoDist !== undefined) {
    const host = name.slice(name.indexOf('@') + 1);
    const hostFamily = isIP(host);
    const linkFamily = protoDist.startsWith('inet6_') ? 6 : 4;
    if (hostFamily !== 0 && hostFamily !== linkFamily) {
      const other = linkFamily === 6 ? protoDist.replace('inet6_', 'inet_') : protoDist.replace('inet_', 'inet6_');
      out.push({
        path: ['cluster', 'proto_dist'],
        message: `${protoDist} links over IPv${linkFamily}, but the host of node.name '${name}' is an IPv${hostFamily} address: use ${other}, or a node name with an IPv${linkFamily} address or a host name`,
      });
    }
  }
  if (name !== undefined && Buffer.byteLength(name) > MAX_FILE_NAME_BYTES) {
    // Erlang's limit too: a node name is an atom, at most 255 characters.
    out.push({
      path: ['node', 'name'],
      message: `is ${Buffer.byteLength(name)} bytes long; at most ${MAX_FILE_NAME_BYTES}, as it names the node's database directory (<data_dir>/mnesia/<node.name>)`,
    });
  }
  if (dataDir !== undefined) {
    const socket = controlSocketPath(dataDir);
    const socketBytes = Buffer.byteLength(socket);
    if (socketBytes > MAX_SOCKET_PATH_BYTES) {
      out.push({
        path: ['node', 'data_dir'],
        message: `the control socket path is too long for a Unix socket (${socketBytes} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}): ${socket}; use a shorter node.data_dir`,
      });
    }
  }
  return out;
}
