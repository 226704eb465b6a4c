// `emqx ctl olp status | enable | disable`, EMQX's command and strings (emqx_mgmt_cli:olp/1,
// "protetion" as EMQX spells it). `enable`/`disable` start and stop this node's overload check;
// whether an overloaded node refuses connections is `overload_protection.enable`. EMQX prints the
// load controller's answer: `{ok,<pid>}` once started, `{error,running}` when it ran already;
// a Node.js node has no process to name, so `ok` stands for the first.
import { erlAtom } from '../cluster/status-format.js';
import { formatUsage } from '../ctl/registry.js';
import type { CtlCommand } from '../ctl/types.js';
import type { LoopWatch } from './loop-watch.js';

const USAGE: CtlCommand['usage'] = [
  ['olp status', 'Return OLP status if system is overloaded'],
  ['olp enable', 'Enable overload protection'],
  ['olp disable', 'Disable overload protection'],
];

export function olpCommand(node: string, watch: LoopWatch): CtlCommand {
  const name = erlAtom(node);
  return {
    name: 'olp',
    usage: USAGE,
    run(args) {
      if (args.length === 1 && args[0] === 'status') return { code: 0, output: `${name} is ${watch.overloaded ? 'overloaded' : 'not overloaded'} \n` };
      if (args.length === 1 && args[0] === 'disable') {
        watch.disableCheck();
        return { code: 0, output: `Disable overload protetion ${name} : ok \n` };
      }
      if (args.length === 1 && args[0] === 'enable') return { code: 0, output: `Enable overload protection ${name} : ${watch.enableCheck() ? 'ok' : '{error,running}'} \n` };
      return { code: 1, output: formatUsage(USAGE) };
    },
  };
}
