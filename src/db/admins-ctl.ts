// `emqx ctl admins ...`: EMQX's wording (`ok`, `Error: <reason>`, the usage lines).
import { formatUsage } from '../ctl/registry.js';
import type { CtlCommand, CtlResult } from '../ctl/types.js';
import { AdminError, type Admins } from './admins.js';

const USAGE: CtlCommand['usage'] = [
  ['admins add <Username> <Password> <Description>', 'Add dashboard user'],
  ['admins passwd <Username> <Password>', 'Reset dashboard user password'],
  ['admins del <Username>', 'Delete dashboard user'],
  ['admins list', 'List dashboard users'],
];

function usage(): CtlResult {
  return { code: 1, output: formatUsage(USAGE) };
}

export function adminsCommand(admins: Admins, busy: () => string | undefined = () => undefined): CtlCommand {
  return {
    name: 'admins',
    usage: USAGE,
    async run(args): Promise<CtlResult> {
      const [verb, ...rest] = args;
      const joining = busy();
      if (joining && verb !== 'list' && verb !== undefined) {
        return { code: 1, output: `Error: a cluster join to ${joining} is in progress on this node; try again when it has finished.\n` };
      }
      try {
        if (verb === 'add' && (rest.length === 2 || rest.length === 3)) {
          await admins.add(rest[0]!, rest[1]!, rest[2] ?? '');
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'passwd' && rest.length === 2) {
          await admins.passwd(rest[0]!, rest[1]!);
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'del' && rest.length === 1) {
          await admins.del(rest[0]!);
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'list' && rest.length === 0) {
          const out = admins.list().map((a) => `Username: ${a.username}, Description: ${a.description}\n`).join('');
          return { code: 0, output: out };
        }
      } catch (err) {
        if (err instanceof AdminError) return { code: 1, output: `Error: ${err.reason}\n` };
        return { code: 1, output: `Error: ${err instanceof Error ? err.message : String(err)}\n` };
      }
      return usage();
    },
  };
}
