// The ctl command registry: parts of the node register their commands here; the control socket
// server dispatches to it. Output layout follows EMQX's `emqx ctl` (emqx_ctl:help/0, usage/1).
import type { CtlCommand, CtlResult } from './types.js';

const SEPARATOR = '-'.repeat(110);

/** EMQX's usage block: syntax left-aligned to the widest syntax of the command, then `# desc`. */
export function formatUsage(usage: CtlCommand['usage']): string {
  const width = Math.max(0, ...usage.map(([syntax]) => syntax.length));
  return usage.map(([syntax, desc]) => `${syntax.padEnd(width + 1)}# ${desc}\n`).join('');
}

export class CtlRegistry {
  readonly #commands = new Map<string, CtlCommand>();

  /** Adds a command; registering a name again replaces it (as emqx_ctl does), keeping its place. */
  register(cmd: CtlCommand): void {
    if (!/^[A-Za-z0-9_-]+$/.test(cmd.name)) throw new Error(`invalid ctl command name '${cmd.name}'`);
    this.#commands.set(cmd.name, cmd);
  }

  unregister(name: string): void {
    this.#commands.delete(name);
  }

  names(): string[] {
    return [...this.#commands.keys()];
  }

  /** `emqx ctl` / `emqx ctl help`. */
  help(): string {
    if (this.#commands.size === 0) return 'No commands available.\n';
    const blocks = [...this.#commands.values()].map((c) => `${SEPARATOR}\n${formatUsage(c.usage)}`);
    return `Usage: emqx ctl\n${blocks.join('')}`;
  }

  /**
   * Runs `args` (args[0] is the command name). Unknown command → the help text, exit 1.
   * A command that throws is reported as an error line, never as a stack trace.
   */
  async run(args: readonly string[], onCrash?: (cmd: string, err: unknown) => void): Promise<CtlResult> {
    const [name, ...rest] = args;
    if (name === undefined || (name === 'help' && rest.length === 0)) return { code: 0, output: this.help() };
    const cmd = this.#commands.get(name);
    if (!cmd) return { code: 1, output: this.help() };
    try {
      const res = await cmd.run(rest);
      return { code: res.code, output: res.output, ...(res.stderr ? { stderr: res.stderr } : {}) };
    } catch (err) {
      onCrash?.(name, err);
      const msg = err instanceof Error ? err.message : String(err);
      return { code: 1, output: `Error: command '${name}' failed: ${msg}\n` };
    }
  }
}
