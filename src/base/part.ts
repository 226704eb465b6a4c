// The one shape every part of a running node has (links, membership, discovery, listeners,
// broker, API): built from Config, started in boot order, given its slice of each reload,
// stopped in reverse. The daemon knows parts only through this interface, so adding a part
// never means editing the reload code.
import type { Config } from '../config/types.js';

export interface NodePart {
  readonly name: string;
  /** May throw: the node then stops what already started and refuses to start. */
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /**
   * The config keys this part applies while running, as dotted prefixes (`cluster.autoheal`,
   * `listeners`). A reload whose diff touches one of them calls reconfigure().
   */
  readonly reloadKeys?: readonly string[];
  /**
   * Applies a reloaded config. `changed` lists the changed keys under reloadKeys. Throwing means
   * the part could not move and kept its running settings: its keys are then reported as refused
   * (see `refusal`) and keep their running values in the config the node goes on with.
   */
  reconfigure?(config: Config, changed: readonly string[]): Promise<void> | void;
  /** How a failed reconfigure() is reported: the key shown to the operator and the reason's lead. */
  readonly refusal?: { readonly key: string; readonly reason: string };
}
