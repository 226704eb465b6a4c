// Where a node keeps its files in its data directory, and the limits the system puts on those
// paths. Pure: the daemon creates the files, check_config reports the limits before a start
// meets them.
//   <data_dir>/emqx_ctl.sock         control socket, also the lock (one node per data dir)
//   <data_dir>/mnesia/<node.name>/   the node's database (the database layer stores its files here)
import { join } from 'node:path';

export const CONTROL_SOCKET_NAME = 'emqx_ctl.sock';

/** Linux's sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** NAME_MAX: one file name, such as the database directory named after the node. */
export const MAX_FILE_NAME_BYTES = 255;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME);
}

/** Where the node's database lives; the name is part of the path, so a node's name is immutable. */
export function mnesiaDir(dataDir: string, nodeName: string): string {
  return join(dataDir, 'mnesia', nodeName);
}
