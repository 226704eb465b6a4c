// `cluster discovery enable` (SPEC §5), and the notice EMQX prints when a leave disables discovery.
import type { CtlResult } from '../ctl/types.js';

export const DISCOVERY_USAGE = [['cluster discovery enable', 'Enable and run automatic cluster discovery (if configured)']] as const;

export interface DiscoverySwitch {
  enable(): void;
  /** Resolves to whether discovery was on. */
  disable?(): Promise<boolean>;
  /** Discovered nodes that are never joined because their discovery is off. */
  notJoinTargets?(): readonly string[];
}

/** What `cluster status --verbose` adds below the table for those nodes. */
export function notJoinTargetLines(nodes: readonly string[]): string {
  return nodes.map((n) => `'${n}' has discovery off: not a join target (its strategy is manual or singleton, or a leave turned it off)\n`).join('');
}

/** Handles `cluster discovery ...` (args after `cluster`); undefined when the args are not ours. */
export function runDiscoveryCommand(loop: DiscoverySwitch | undefined, args: readonly string[]): CtlResult | undefined {
  if (args[0] !== 'discovery') return undefined;
  if (args.length !== 2 || args[1] !== 'enable') {
    return { code: 1, output: `${DISCOVERY_USAGE.map(([s, d]) => `${s.padEnd(40)}# ${d}`).join('\n')}\n` };
  }
  // With manual/singleton there is no loop: EMQX still answers the same (nothing is configured).
  loop?.enable();
  return { code: 0, output: 'Automatic cluster discovery enabled.\n' };
}

/** What `cluster leave` adds when it disabled discovery (EMQX's wording). */
export function discoveryDisabledNotice(self: string): string {
  return `Automatic cluster discovery is disabled on this node: '${self}' to avoid re-joining the same cluster again, if the node is not stopped soon. To enable it run: 'emqx ctl cluster discovery enable' or restart the node.\n`;
}
