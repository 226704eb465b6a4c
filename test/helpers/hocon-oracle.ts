// The HOCON reference implementation (Lightbend Typesafe Config) as a test oracle: compiles the
// small batch program next to this file once per run and parses many documents in one JVM.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TYPESAFE_CONFIG_JAR = '/usr/share/java/typesafe-config.jar';

export type OracleResult = { ok: true; value: unknown } | { ok: false; message: string };

export interface HoconOracle {
  /** Parses and resolves every file in one JVM, with exactly `env` as its environment. */
  parseFiles(files: readonly string[], env: Record<string, string>): OracleResult[];
  close(): void;
}

/** Why the oracle cannot run here (no java/javac or no jar), or undefined when it can. */
export function oracleUnavailable(): string | undefined {
  for (const tool of ['java', 'javac']) {
    const r = spawnSync(tool, ['-version'], { stdio: 'ignore', timeout: 20_000 });
    if (r.error !== undefined || r.status !== 0) return `${tool} is not installed (apt-get install default-jdk-headless)`;
  }
  if (!fs.existsSync(TYPESAFE_CONFIG_JAR)) return `${TYPESAFE_CONFIG_JAR} is missing (apt-get install libtypesafe-config-java)`;
  return undefined;
}

export function startHoconOracle(): HoconOracle {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'hocon-oracle-'));
  const compile = spawnSync('javac', ['-cp', TYPESAFE_CONFIG_JAR, '-d', classes, path.join(here, 'HoconBatchToJson.java')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (compile.status !== 0) {
    fs.rmSync(classes, { recursive: true, force: true });
    throw new Error(`javac failed: ${compile.stderr || String(compile.error)}`);
  }
  return {
    parseFiles(files, env) {
      const run = spawnSync('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', `${TYPESAFE_CONFIG_JAR}:${classes}`, 'HoconBatchToJson'], {
        input: files.join('\n') + '\n',
        encoding: 'utf8',
        env,
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (run.status !== 0) throw new Error(`the HOCON oracle failed: ${run.stderr || String(run.error)}`);
      const lines = run.stdout.split('\n').filter((l) => l !== '');
      if (lines.length !== files.length) throw new Error(`the HOCON oracle answered ${lines.length} lines for ${files.length} files`);
      return lines.map((l): OracleResult => (l.startsWith('OK ') ? { ok: true, value: JSON.parse(l.slice(3)) } : { ok: false, message: l.replace(/^ERR /, '') }));
    },
    close() {
      fs.rmSync(classes, { recursive: true, force: true });
    },
  };
}
