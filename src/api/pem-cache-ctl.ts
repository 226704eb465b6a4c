// `emqx ctl pem_cache clean all | node <Node>`, EMQX's command and strings. EMQX caches the
// certificate files it read and needs this to take renewed ones; here every certificate and key
// file the configuration names is watched and a renewal applies by itself (config/tls-files.ts),
// so the command is the same check done at once: each node reads its configuration and its
// certificate files again and applies what changed, as `emqx ctl conf reload` does.
import { formatUsage } from '../ctl/registry.js';
import { withLog, type CtlCommand } from '../ctl/types.js';
import type { ClusterRpc } from './cluster/rpc.js';

const USAGE: CtlCommand['usage'] = [
  ['pem_cache clean all', 'Clears x509 certificate cache on all nodes'],
  ['pem_cache clean node <Node>', 'Clears x509 certificate cache on given node'],
];

export function pemCacheCommand(rpc: ClusterRpc): CtlCommand {
  return {
    name: 'pem_cache',
    usage: USAGE,
    async run(args) {
      if (args.length === 2 && args[0] === 'clean' && args[1] === 'all') {
        const g = await rpc.gather<string | null>({ op: 'tls_reload' });
        const problems = [...g.answers.filter((a) => a.value !== null).map((a) => `${a.node}: ${a.value!}`), ...g.down.filter((n) => rpc.isRunning(n)).map((n) => `${n}: no answer`)];
        return withLog('PEM cache clean', problems.length > 0 ? problems.join('\n') : undefined);
      }
      if (args.length === 3 && args[0] === 'clean' && args[1] === 'node') {
        const node = args[2]!;
        const what = `${node} PEM cache clean`;
        if (!rpc.isMember(node)) return withLog(what, 'unknown_node');
        try {
          const problem = await rpc.call<string | null>(node, { op: 'tls_reload' });
          return withLog(what, problem ?? undefined);
        } catch (err) {
          return withLog(what, (err as Error).message);
        }
      }
      return { code: 1, output: formatUsage(USAGE) };
    },
  };
}
