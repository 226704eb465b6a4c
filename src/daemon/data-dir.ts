// A node's data directory on disk: created and checked writable, and the sign of a renamed node.
// Its layout (node/dirs.ts) is pure, so check_config can check its limits too.
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isValidNodeName } from '../node/name.js';
import { makeDirsSync } from '../base/make-dirs.js';

export { controlSocketPath, mnesiaDir } from '../node/dirs.js';

export class DataDirError extends Error {
  constructor(
    readonly code: 'not_writable' | 'not_a_directory',
    message: string,
  ) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** Creates `dir` if needed and checks this process may write to it. `what` names it for the operator. */
export function ensureWritableDir(dir: string, what: string): void {
  try {
    makeDirsSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    // EEXIST from a recursive mkdir: the path itself is a file.
    if (code === 'EEXIST') throw new DataDirError('not_a_directory', `${what} ${dir} is not a directory (a file of that name is in the way)`);
    throw new DataDirError(code === 'ENOTDIR' ? 'not_a_directory' : 'not_writable', `${what} ${dir} cannot be created: ${code}`);
  }
  if (!statSync(dir).isDirectory()) throw new DataDirError('not_a_directory', `${what} ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new DataDirError('not_writable', `${what} ${dir} is not writable by this user: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * The names of other nodes whose databases sit in this data dir, when there is none for
 * `nodeName`: the sign of a renamed node, which would otherwise start on an empty database.
 */
export function otherNodesInDataDir(dataDir: string, nodeName: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(dataDir, 'mnesia'));
  } catch {
    return [];
  }
  if (entries.includes(nodeName)) return [];
  return entries.filter((e) => isValidNodeName(e)).sort();
}

export function renameWarning(dataDir: string, nodeName: string, others: readonly string[]): string {
  const where = join(dataDir, 'mnesia');
  const list = others.map((o) => `'${o}'`).join(', ');
  return [
    `WARNING: node name changed? The data directory ${where} holds the database of ${list} but none for '${nodeName}'.`,
    `A node's name is part of its identity: '${nodeName}' starts with an EMPTY database.`,
    `If this was not intended, stop the node and either set node.name back to '${others[0]}',`,
    `or (to really rename) move ${join(where, others[0] ?? '')} to ${join(where, nodeName)}.`,
  ].join('\n');
}
