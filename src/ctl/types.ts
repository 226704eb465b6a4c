// The contract between the control socket server and the parts that offer commands.
// The daemon renders every output itself, so the client only ferries bytes (see native/).

export interface CtlResult {
  /** Process exit code for the client: 0 on success, non-zero on every failure (SPEC §5). */
  readonly code: number;
  /** Exactly what the client prints (including trailing newline): for EMQX's commands, EMQX's text. */
  readonly output: string;
  /** Our own lines beyond EMQX's (hints, causes), printed on stderr after the output. */
  readonly stderr?: string;
}

export interface CtlCommand {
  /** First word: `cluster`, `admins`, `conf`, `status`, ... */
  readonly name: string;
  /** Usage lines for `ctl help`, as EMQX prints them: [`cluster join <Node>`, `Join the cluster`]. */
  readonly usage: ReadonlyArray<readonly [syntax: string, description: string]>;
  /** `args` excludes the command name itself. */
  run(args: readonly string[]): Promise<CtlResult> | CtlResult;
}

/** EMQX's with_log: `<what> OK`, or `<what> FAILED` and the reason (exit 1 here). */
export function withLog(what: string, failed?: string): CtlResult {
  return failed === undefined ? { code: 0, output: `${what} OK\n` } : { code: 1, output: `${what} FAILED\n${failed}\n` };
}
