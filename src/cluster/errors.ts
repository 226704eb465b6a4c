// Typed membership failures with stable codes; the ctl layer maps them to EMQX's reason terms.

export type ClusterErrorCode =
  | 'ignore'
  | 'node_down'
  | 'authentication_failed'
  | 'tls_handshake_failed'
  | 'already_in_cluster'
  | 'singleton'
  | 'node_not_in_cluster'
  | 'join_in_progress'
  /** The target of a join is itself joining a cluster. */
  | 'target_join_in_progress'
  | 'invalid_node_name'
  | 'join_failed';

export class ClusterError extends Error {
  constructor(
    readonly code: ClusterErrorCode,
    readonly node: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}
