// `emqx check_config` and `emqx hocon FILE`: validate or show configuration without starting a node.
// Every failure is a message on stderr and exit code 1, never a stack trace.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, formatProblem } from '../config/types.js';
import type { ConfigProblem } from '../config/types.js';
import { loadConfig } from '../config/load.js';
import { redactTree } from '../config/redact.js';
import { parseHoconFile, HoconError } from '../config/hocon/index.js';

export const CHECK_CONFIG_USAGE = 'Usage: emqx check_config [--print]';
export const HOCON_USAGE = 'Usage: emqx hocon FILE';

function printWarnings(warnings: readonly ConfigProblem[]): void {
  for (const w of warnings) process.stderr.write(`WARNING: ${formatProblem(w)}\n`);
}

function printFailure(err: unknown): void {
  if (err instanceof ConfigError) {
    for (const p of err.problems) process.stderr.write(`ERROR: ${formatProblem(p)}\n`);
    const n = err.problems.length;
    process.stderr.write(`config is NOT OK: ${n} problem${n === 1 ? '' : 's'}\n`);
    return;
  }
  if (err instanceof HoconError) {
    process.stderr.write(`ERROR: ${err.message.startsWith(err.file) ? err.message : `${err.file}:${err.line}:${err.column}: ${err.message}`}\n`);
    return;
  }
  const e = err as NodeJS.ErrnoException;
  process.stderr.write(`ERROR: ${e.code !== undefined ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
}

/** Prints `config is OK` (exit 0) or every problem (exit 1); `--print` also shows the effective config. */
export async function checkConfigCommand(args: string[], env: Record<string, string | undefined>, root: string): Promise<number> {
  const print = args.includes('--print');
  const unknown = args.filter((a) => a !== '--print');
  if (unknown.length > 0) {
    process.stderr.write(`ERROR: unexpected argument ${unknown.map((a) => `'${a}'`).join(' ')}\n${CHECK_CONFIG_USAGE}\n`);
    return 1;
  }
  try {
    const loaded = loadConfig({ root, env });
    printWarnings(loaded.warnings);
    if (print) process.stdout.write(`${JSON.stringify(loaded.effective, null, 2)}\n`);
    process.stdout.write('config is OK\n');
    return 0;
  } catch (err) {
    printFailure(err);
    return 1;
  }
}

/** Prints FILE parsed and resolved as pretty JSON (secrets redacted), or the positioned error (exit 1). */
export async function hoconCommand(args: string[], _root: string): Promise<number> {
  const files = args.filter((a) => a !== '--');
  if (files.length !== 1 || files[0]!.startsWith('-')) {
    process.stderr.write(`${HOCON_USAGE}\n`);
    return 1;
  }
  // A relative FILE is taken from where the operator stands, as any command-line file argument.
  const file = resolve(files[0]!);
  if (!existsSync(file) || !statSync(file).isFile()) {
    process.stderr.write(`ERROR: ${file}: no such file\n`);
    return 1;
  }
  try {
    const doc = parseHoconFile(file, { env: { ...process.env } });
    // Secrets stay hidden here too: the output ends up in terminals, tickets and chat.
    process.stdout.write(`${JSON.stringify(redactTree(doc.value), null, 2)}\n`);
    return 0;
  } catch (err) {
    printFailure(err);
    return 1;
  }
}
