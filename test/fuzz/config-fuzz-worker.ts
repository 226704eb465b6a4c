// Child process for the config fuzz test: parses a deterministic stream of mutated documents and
// reports progress on stdout, so the parent can notice a hang (no progress) or a crash (exit).
// Each input is a pure function of (seed, index), so any failure can be replayed alone.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHocon, HoconError } from '../../src/config/hocon/index.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';
import { mutateText, prng } from './mutate.js';

export interface FuzzBase {
  readonly file: string;
  readonly text: string;
  /** true: run it through the whole loader (schema, env) as etc/emqx.conf */
  readonly asEmqxConf: boolean;
}

export function inputFor(seed: number, i: number, bases: readonly FuzzBase[]): { base: FuzzBase; text: string } {
  const rnd = prng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const base = bases[Math.floor(rnd() * bases.length)]!;
  return { base, text: mutateText(base.text, rnd) };
}

/** Returns 'loaded' | 'rejected', or throws what was not a clean, positioned rejection. */
export function judge(base: FuzzBase, text: string, etcDir: string): 'loaded' | 'rejected' {
  try {
    if (base.asEmqxConf) {
      writeFileSync(join(etcDir, 'emqx.conf'), text);
      loadConfig({ root: etcDir, env: { EMQX_ETC_DIR: etcDir } });
    } else {
      // Includes are resolved against a scratch dir so a mutation cannot read arbitrary files.
      parseHocon(text, { file: join(etcDir, 'fuzz.conf'), env: {} });
    }
    return 'loaded';
  } catch (err) {
    if (err instanceof HoconError) {
      if (!(err.line >= 1 && err.column >= 1 && err.file)) throw new Error(`unpositioned HoconError: ${err.message}`, { cause: err });
      return 'rejected';
    }
    if (err instanceof ConfigError && err.problems.length > 0) {
      const unplaced = err.problems.find((p) => !p.message);
      if (unplaced) throw new Error("ConfigError with an empty problem", { cause: err });
      return 'rejected';
    }
    throw err;
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [seedArg, countArg, basesFile] = process.argv.slice(2);
  const bases = JSON.parse(readFileSync(basesFile!, 'utf8')) as FuzzBase[];
  const seed = Number(seedArg);
  const count = Number(countArg);
  const etcDir = mkdtempSync(join(tmpdir(), 'emqx-fuzz-'));
  const tally = { loaded: 0, rejected: 0 };
  try {
    for (let i = 0; i < count; i++) {
      if (i % 50 === 0) process.stdout.write(`progress ${i}\n`);
      const { base, text } = inputFor(seed, i, bases);
      try {
        tally[judge(base, text, etcDir)]++;
      } catch (err) {
        process.stdout.write(`FAIL ${JSON.stringify({ i, base: base.file, error: String(err instanceof Error ? err.stack : err) })}\n`);
        process.exit(1);
      }
    }
    process.stdout.write(`DONE ${JSON.stringify(tally)}\n`);
  } finally {
    rmSync(etcDir, { recursive: true, force: true });
  }
}
