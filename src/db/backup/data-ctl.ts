// `emqx ctl data export [--dir <Dir>]` and `emqx ctl data import <File>`, with EMQX's lines.
// The archive is written by, and read by, the node (not the ctl client): a relative name is one
// in `<node.data_dir>/backup/`, where exports go by default, as in EMQX.
import { isAbsolute, join } from 'node:path';
import { formatUsage } from '../../ctl/registry.js';
import type { CtlCommand, CtlResult } from '../../ctl/types.js';
import type { Db } from '../db.js';
import { BackupError, exportData, importData } from './backup.js';
import { backupDir } from './backup-files.js';

const USAGE: CtlCommand['usage'] = [
  ['data import <File>', 'Import data from the specified tar archive file'],
  ['data export [--dir <Dir>]', 'Export data (into <data_dir>/backup by default)'],
];

export interface DataCommandOptions {
  readonly db: Db;
  readonly node: string;
  readonly version: string;
  /** node.data_dir (absolute). */
  readonly dataDir: string;
  readonly confFile: string;
  /** The node a join in progress runs to: the data is being replaced, nothing is imported meanwhile. */
  readonly busy: () => string | undefined;
}

export function dataCommand(o: DataCommandOptions): CtlCommand {
  const usage = (): CtlResult => ({ code: 1, output: formatUsage(USAGE) });
  return {
    name: 'data',
    usage: USAGE,
    async run(args): Promise<CtlResult> {
      const lines: string[] = [];
      const say = (line: string): void => void lines.push(line);
      const [verb, ...rest] = args;
      try {
        if (verb === 'export' && (rest.length === 0 || (rest.length === 2 && rest[0] === '--dir'))) {
          const dir = rest[1] ?? backupDir(o.dataDir);
          if (!isAbsolute(dir)) return { code: 1, output: `Error: --dir must be an absolute path (the node writes the file), got ${dir}\n` };
          await exportData({ db: o.db, node: o.node, version: o.version, dir, confFile: o.confFile, say });
          return { code: 0, output: lines.map((l) => `${l}\n`).join('') };
        }
        if (verb === 'import' && rest.length === 1) {
          const joining = o.busy();
          if (joining) return { code: 1, output: `Error: a cluster join to ${joining} is in progress on this node; try again when it has finished.\n` };
          const name = rest[0]!;
          if (!isAbsolute(name) && name.includes('/')) {
            return { code: 1, output: `Error: give an absolute path, or the name of a file in ${backupDir(o.dataDir)} (the node reads the file), got ${name}\n` };
          }
          await importData({ db: o.db, file: isAbsolute(name) ? name : join(backupDir(o.dataDir), name), say });
          return { code: 0, output: lines.map((l) => `${l}\n`).join('') };
        }
      } catch (err) {
        const what = verb === 'export' ? 'Data export failed' : 'Data import failed';
        const reason = err instanceof BackupError ? err.message : err instanceof Error ? err.message : String(err);
        return { code: 1, output: `${lines.map((l) => `${l}\n`).join('')}${what}: ${reason}\n` };
      }
      return usage();
    },
  };
}
