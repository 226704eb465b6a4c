// `emqx ctl cluster ...`: maps membership results and typed errors to EMQX's exact strings.
import { formatUsage } from '../ctl/registry.js';
import type { CtlCommand, CtlResult } from '../ctl/types.js';
import { NodeNameError, parseNodeName, qualifyNodeName } from '../node/name.js';
import type { Cluster } from './cluster.js';
import { ClusterError } from './errors.js';
import { erlReason, formatStatusJson, formatStatusLine, formatVerbose } from './status-format.js';

const USAGE: CtlCommand['usage'] = [
  ['cluster join <Node>', 'Join the cluster'],
  ['cluster leave', 'Leave the cluster'],
  ['cluster force-leave <Node>', 'Force the node leave from cluster'],
  ['cluster status [--json]', 'Cluster status'],
  ['cluster status --verbose', 'One row per node: state, address, transport, since, last seen'],
];

/** One line telling the operator what to check, for the failures EMQX leaves vague. */
const HINTS: Partial<Record<string, string>> = {
  authentication_failed: 'Check that node.cookie is the same on both nodes.',
  tls_handshake_failed: 'Check cluster.proto_dist and the certificates, CA and verify options in ssl_dist.conf on both nodes.',
  join_in_progress: 'A join is in progress on this node; try again when it has finished.',
};

// Stdout carries exactly what EMQX prints, for scripts; every line of ours goes to stderr.
function reply(code: number, output: string, stderr = ''): CtlResult {
  return { code, output, ...(stderr ? { stderr } : {}) };
}

/** `Cluster status: ...` after `head`; the removal note, ours, on stderr. */
function statusReply(cluster: Cluster, head = ''): CtlResult {
  const removed = cluster.removedFrom();
  const note = removed
    ? `This node was removed from its cluster by ${removed.by} at ${new Date(removed.at).toISOString()}; it stays out until an operator runs 'cluster join'.\n`
    : '';
  return reply(0, `${head}${formatStatusLine(cluster.status())}\n`, note);
}

function failure(prefix: string, err: unknown, verbForLog: string): CtlResult {
  if (err instanceof ClusterError) {
    if (err.code === 'ignore') return reply(1, 'Ignore.\n');
    if (err.code === 'target_join_in_progress') {
      // The node asked to take us in is busy joining elsewhere: name it, and say it is temporary.
      return reply(1, `${prefix}: ${erlReason('join_in_progress', err.node)}\n`, `${err.node} is itself joining a cluster; try again when its join has finished.\n`);
    }
    const reason = err.code === 'singleton' || err.code === 'node_not_in_cluster' || err.code === 'join_in_progress' ? err.code : erlReason(err.code, err.node);
    const hint = HINTS[err.code];
    // What this node learned of the cause; a hint says what to check.
    const detail = err.code === 'node_down' || err.code === 'join_failed' || err.code === 'tls_handshake_failed' ? err.message : undefined;
    return reply(1, `${prefix}: ${reason}\n`, `${detail ? `(${detail})\n` : ''}${hint ? `${hint}\n` : ''}`);
  }
  return { code: 1, output: `${prefix}: ${verbForLog}: ${err instanceof Error ? err.message : String(err)}\n` };
}

function usage(): CtlResult {
  return { code: 1, output: formatUsage(USAGE) };
}

function target(arg: string, self: string): string {
  const full = qualifyNodeName(arg, self);
  parseNodeName(full);
  return full;
}

/**
 * The membership verbs of `cluster`. `cluster discovery enable`, and a leave that turns discovery
 * off first, are added by the discovery part, which wraps this command (discovery/node-part.ts).
 */
export function clusterCommand(cluster: Cluster): CtlCommand {
  return {
    name: 'cluster',
    usage: USAGE,
    async run(args): Promise<CtlResult> {
      const [verb, ...rest] = args;
      if (verb === 'join' && rest.length === 1) {
        let node: string;
        try {
          node = target(rest[0]!, cluster.self);
        } catch (err) {
          return reply(1, `Failed to join the cluster: ${erlReason('invalid_node_name', rest[0]!)}\n`, err instanceof NodeNameError ? `${err.message}\n` : '');
        }
        try {
          await cluster.join(node);
          return statusReply(cluster, 'Join the cluster successfully.\n');
        } catch (err) {
          return failure('Failed to join the cluster', err, 'join');
        }
      }
      if (verb === 'leave' && rest.length === 0) {
        try {
          await cluster.leave();
          return statusReply(cluster, 'Leave the cluster successfully.\n');
        } catch (err) {
          return failure('Failed to leave the cluster', err, 'leave');
        }
      }
      if (verb === 'force-leave' && rest.length === 1) {
        let node: string;
        try {
          node = target(rest[0]!, cluster.self);
        } catch {
          return { code: 1, output: 'Failed to remove the node from cluster: node_not_in_cluster\n' };
        }
        try {
          await cluster.forceLeave(node);
          return statusReply(cluster, 'Remove the node from cluster successfully.\n');
        } catch (err) {
          return failure('Failed to remove the node from cluster', err, 'force-leave');
        }
      }
      if (verb === 'status' && rest.length <= 1) {
        const opt = rest[0];
        if (opt === undefined) return statusReply(cluster);
        if (opt === '--json') return { code: 0, output: `${formatStatusJson(cluster.status())}\n` };
        if (opt === '--verbose') {
          const removed = cluster.removedFrom();
          const note = removed ? `\nRemoved from its cluster by ${removed.by} at ${new Date(removed.at).toISOString()}; stays out until an operator runs 'cluster join'.` : '';
          const joining = cluster.busy();
          return { code: 0, output: `${formatVerbose(cluster.verbose())}${joining ? `\nJoining ${joining} ...` : ''}${note}\n` };
        }
      }
      return usage();
    },
  };
}
