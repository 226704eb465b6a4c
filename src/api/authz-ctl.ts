// `emqx ctl authz cache-clean all | node <Node> | <ClientId>`, EMQX's command and strings: the
// clients of every running member, of one member, or one client forget their cached
// authorization answers, so the next check asks the sources again. It runs where the API's
// cluster calls are (api/cluster/rpc.ts), as EMQX's does through emqx_mgmt.
import { formatUsage } from '../ctl/registry.js';
import { withLog, type CtlCommand } from '../ctl/types.js';
import type { ClusterRpc } from './cluster/rpc.js';

const USAGE: CtlCommand['usage'] = [
  ['authz cache-clean all', 'Clears authorization cache on all nodes'],
  ['authz cache-clean node <Node>', 'Clears authorization cache on given node'],
  ['authz cache-clean <ClientId>', 'Clears authorization cache for given client'],
];

export function authzCommand(rpc: ClusterRpc): CtlCommand {
  return {
    name: 'authz',
    usage: USAGE,
    async run(args) {
      if (args[0] !== 'cache-clean') return { code: 1, output: formatUsage(USAGE) };
      if (args.length === 2 && args[1] === 'all') {
        const what = 'Authorization cache drain started on all nodes';
        const g = await rpc.gather<boolean>({ op: 'authz_cache_clean' });
        const silent = g.down.filter((n) => rpc.isRunning(n));
        return withLog(what, silent.length > 0 ? `no answer from ${silent.join(', ')}` : undefined);
      }
      if (args.length === 3 && args[1] === 'node') {
        const node = args[2]!;
        const what = `Authorization cache drain started on node ${node}`;
        if (!rpc.isMember(node)) return withLog(what, 'unknown_node');
        try {
          await rpc.call<boolean>(node, { op: 'authz_cache_clean' });
          return withLog(what);
        } catch (err) {
          return withLog(what, (err as Error).message);
        }
      }
      if (args.length === 2) {
        const clientid = args[1]!;
        const what = `Drain ${clientid} authz cache`;
        const g = await rpc.gather<boolean>({ op: 'authz_cache_clean', clientid });
        return withLog(what, g.answers.some((a) => a.value) ? undefined : 'not_found');
      }
      return { code: 1, output: formatUsage(USAGE) };
    },
  };
}
