// The chaos runner: five real members, a seeded schedule of faults (kill -9, SIGSTOP pauses,
// iptables partitions, force-leave and rejoin, config reloads), a client writing records and a
// rogue node with a wrong cookie, and after every heal the invariants checked with bounded waits.
//
//   npm run chaos -- --minutes 30 --seed 42        (the seed is printed; the same seed replays)
//   npm run chaos -- --seed 7 --faults 1           (only the first fault of seed 7's schedule)
//   --slot N: members at 127.0.90.(N+1..N+5), rogue at .(N+10) (default 10), for a second run at once
//   --keep-going: continue after a failed check (default: stop at the first, keeping the state small)
//
// Importable: runChaos() is what test/chaos/chaos.test.ts calls. Every fault is undone and every
// process stopped by PID on success, failure and SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ChaosCluster, BASE_CONF } from './cluster.js';
import { makeRng } from './prng.js';
import { Rogue, rogueInLog } from './rogue.js';
import { FAULT_KINDS, describeFault, makeSchedule, type Fault, type FaultKind } from './schedule.js';
import { Writer } from './writer.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Stop injecting new faults after this long (the run then does its final check). */
  readonly durationMs: number;
  /** At most this many faults. */
  readonly maxFaults?: number;
  /** Continue after a failed check (the long run) instead of stopping at the first. */
  readonly keepGoing?: boolean;
  readonly log?: (line: string) => void;
  /** Aborting undoes the faults and stops the processes at once, then the run ends. */
  readonly signal?: AbortSignal;
  /** Address slot in 127.0.90.x (see ChaosCluster); default 10: members .11–.15, rogue .20. */
  readonly slot?: number;
}

export interface KindStats {
  injected: number;
  writesAcked: number;
  writesVerified: number;
  checksPassed: number;
  checksFailed: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly durationMs: number;
  readonly faults: Record<FaultKind, KindStats>;
  readonly partitionShapes: Record<string, number>;
  readonly pausesOverTicktime: number;
  readonly writesAcked: number;
  readonly writesFailed: number;
  readonly writesVerified: number;
  readonly checksPassed: number;
  readonly rogueAttempts: number;
  readonly rogueFailureReasons: Record<string, number>;
  readonly rogueRefusalsLogged: Record<string, number>;
  readonly violations: string[];
  readonly findings: string[];
  /** `protocol_error` link-down lines in the members' logs (framing errors on links). */
  readonly protocolErrorsLogged: number;
}

const MEMBERSHIP_WAIT_MS = 10_000;
const WRITES_WAIT_MS = 15_000;
/** The last non-empty line of a file, or a note that there is none. */
function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').pop() || '(empty)';
  } catch {
    return '(absent)';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns undefined (no problem) or the time is up; returns the last problem. */
async function within(ms: number, f: () => Promise<string | undefined>): Promise<string | undefined> {
  const end = Date.now() + ms;
  for (let i = 0; ; i++) {
    const problem = await f();
    if (problem === undefined || Date.now() > end || i > 1000) return problem;
    await sleep(200);
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const say = (l: string): void => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${l}`);
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: 0, writesAcked: 0, writesVerified: 0, checksPassed: 0, checksFailed: 0 }])) as Record<FaultKind, KindStats>;
  const partitionShapes: Record<string, number> = {};
  let pausesOverTicktime = 0;
  let checksPassed = 0;
  const violations: string[] = [];
  /** Operator-visible failures that the suite worked around (e.g. a join that needed a retry). */
  const findings: string[] = [];
  let faultNo = 0;
  const cluster = new ChaosCluster(`c${opts.seed % 1000}n`, opts.slot);
  const writer = new Writer(cluster, makeRng(opts.seed ^ 0x5bd1e995), `s${opts.seed}w`, 1_000_000);
  const rogue = new Rogue(cluster, makeRng(opts.seed ^ 0x1b873593), 100_000);
  const onAbort = (): void => void cluster.cleanup();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let rogueSeen = '';
  const all = [...cluster.names].sort();

  /** The invariants; returns the problems found (empty: all hold). */
  const check = async (acked: readonly string[]): Promise<string[]> => {
    const problems: string[] = [];
    const membership = await within(MEMBERSHIP_WAIT_MS, async () => {
      for (let i = 0; i < cluster.nodes.length; i++) {
        const s = await cluster.status(i);
        if (!s) return `${cluster.names[i]}: cluster status failed`;
        if ([...s.running_nodes, ...s.stopped_nodes].includes(cluster.rogueName)) rogueSeen ||= `${cluster.names[i]} lists ${cluster.rogueName}: ${JSON.stringify(s)}`;
        if (JSON.stringify(s.running_nodes) !== JSON.stringify(all) || s.stopped_nodes.length > 0) return `${cluster.names[i]} shows ${JSON.stringify(s)}`;
      }
      return undefined;
    });
    if (membership) problems.push(`membership not the same on every member within ${MEMBERSHIP_WAIT_MS} ms: ${membership}`);
    const writes = await within(WRITES_WAIT_MS, async () => {
      for (let i = 0; i < cluster.nodes.length; i++) {
        const have = await cluster.admins(i);
        if (!have) return `${cluster.names[i]}: admins list failed`;
        const missing = acked.filter((u) => !have.has(u));
        if (missing.length > 0) return `${cluster.names[i]} lacks ${missing.length} acknowledged writes: ${missing.slice(0, 5).join(', ')}`;
      }
      return undefined;
    });
    if (writes) problems.push(`acknowledged writes missing after ${WRITES_WAIT_MS} ms: ${writes}`);
    const deaths = cluster.unexpectedDeaths();
    if (deaths.length > 0) problems.push(`processes died that the schedule did not kill: ${deaths.join('; ')}`);
    if (rogueSeen) problems.push(`rogue node listed: ${rogueSeen}`);
    if (rogue.accepted.length > 0) problems.push(`rogue join succeeded: ${rogue.accepted.join('; ')}`);
    return problems;
  };

  const ip = (i: number): string => cluster.names[i]!.split('@')[1]!;
  const inject = async (f: Fault): Promise<void> => {
    const names = cluster.names;
    switch (f.kind) {
      case 'kill': {
        const n = cluster.nodes[f.node]!;
        n.kill('SIGKILL');
        await n.waitExit(10_000);
        await sleep(f.downMs);
        // A failed restart is retried (as an operator would) and reported as a finding with the
        // daemon's own words; only a member that cannot be restarted at all fails the run.
        for (let attempt = 1; ; attempt++) {
          const r = await n.start();
          if (r.code === 0) break;
          const why = `emqx start of ${n.name} (attempt ${attempt}) failed: exit ${r.code}: ${r.stderr.trim().split('\n')[0]} / daemon.out: ${tailOf(join(n.logDir, 'daemon.out'))}`;
          say(`  FINDING: ${why}`);
          findings.push(`fault #${faultNo}: ${why}`);
          if (attempt >= 3) throw new Error(`restart gave up after 3 attempts: ${why}`);
          await sleep(2000);
        }
        cluster.expectedPid[f.node] = n.pid;
        return;
      }
      case 'pause':
        cluster.signal(f.node, 'SIGSTOP');
        cluster.paused.add(f.node);
        if (f.pauseMs > 4000) pausesOverTicktime++;
        try {
          await sleep(f.pauseMs);
        } finally {
          cluster.signal(f.node, 'SIGCONT');
          cluster.paused.delete(f.node);
        }
        return;
      case 'partition': {
        partitionShapes[f.shape] = (partitionShapes[f.shape] ?? 0) + 1;
        try {
          for (const [a, b] of f.blocked) await cluster.partition.split([ip(a)], [ip(b)]);
          await sleep(f.holdMs);
        } finally {
          await cluster.partition.heal();
        }
        return;
      }
      case 'force-leave': {
        // The member's own writes would be replaced by the cluster's on rejoin: stop writing to it first.
        writer.excluded.add(f.node);
        await writer.idleFor(f.node);
        try {
          if (f.isolated) {
            await cluster.partition.split([ip(f.node)], names.map((_, i) => i).filter((i) => i !== f.node).map(ip));
            const down = await within(MEMBERSHIP_WAIT_MS, async () => {
              const s = await cluster.status(f.operator);
              return s?.stopped_nodes.includes(names[f.node]!) ? undefined : `${names[f.operator]} shows ${JSON.stringify(s)}`;
            });
            if (down) throw new Error(`cut-off member not seen down: ${down}`);
          }
          const r = await cluster.ctl(f.operator, ['cluster', 'force-leave', names[f.node]!]);
          if (f.isolated) await cluster.partition.heal();
          if (r.code !== 0) throw new Error(`force-leave ${names[f.node]} on ${names[f.operator]}: exit ${r.code}: ${r.stdout}${r.stderr}`);
          const alone = await within(MEMBERSHIP_WAIT_MS, async () => {
            const s = await cluster.status(f.node);
            return s && s.running_nodes.length === 1 && s.stopped_nodes.length === 0 ? undefined : `${names[f.node]} shows ${JSON.stringify(s)}`;
          });
          if (alone) throw new Error(`after force-leave: ${alone}`);
          await sleep(f.outMs);
          // An operator retries a failed join; a retry that was needed is a finding, not a violation.
          for (let attempt = 1; ; attempt++) {
            const j = await cluster.ctl(f.node, ['cluster', 'join', names[f.operator]!], 60_000);
            if (j.code === 0) break;
            const why = `cluster join ${names[f.operator]} on ${names[f.node]} (attempt ${attempt}) failed: exit ${j.code}: ${(j.stdout + j.stderr).trim()}`;
            say(`  FINDING: ${why}`);
            findings.push(`fault #${faultNo}: ${why}`);
            if (attempt >= 5) throw new Error(`rejoin gave up after 5 attempts: ${why}`);
            await sleep(2000);
          }
        } finally {
          if (f.isolated) await cluster.partition.heal();
          writer.excluded.delete(f.node);
        }
        return;
      }
      case 'reload': {
        const n = cluster.nodes[f.node]!;
        const hups = (): number => (n.logText().match(/"trigger":"SIGHUP"/g) ?? []).length;
        const hupsBefore = hups();
        n.writeConf(`# written by test/chaos\n${BASE_CONF}cluster.autoclean = ${f.autoclean}\n`);
        if (f.trigger === 'sighup') {
          cluster.signal(f.node, 'SIGHUP');
          const logged = await within(5000, async () => (hups() > hupsBefore ? undefined : 'no reload with trigger SIGHUP in the log'));
          if (logged) throw new Error(`SIGHUP to ${names[f.node]}: ${logged}`);
        }
        if (f.trigger === 'ctl') {
          const r = await cluster.ctl(f.node, ['conf', 'reload']);
          if (r.code !== 0 || !r.stdout.startsWith('Config reloaded')) throw new Error(`conf reload on ${names[f.node]}: exit ${r.code}: ${(r.stdout + r.stderr).trim()}`);
        }
        // Whatever the trigger, the running value must become the file's (`2d` is shown as 48h).
        const want = `cluster.autoclean = "${f.autoclean === '2d' ? '48h' : f.autoclean}"\n`;
        const applied = await within(5000, async () => {
          const r = await cluster.ctl(f.node, ['conf', 'show', 'cluster.autoclean'], 10_000);
          return r.stdout === want ? undefined : `conf show prints ${JSON.stringify(r.stdout + r.stderr)}, expected ${JSON.stringify(want)}`;
        });
        if (applied) throw new Error(`reload of ${names[f.node]} (${f.trigger}): ${applied}`);
        return;
      }
    }
  };

  try {
    say(`chaos seed ${opts.seed} (replay: npm run chaos -- --seed ${opts.seed} --minutes ${(opts.durationMs / 60_000).toFixed(1)})`);
    await cluster.start();
    say(`cluster up: ${cluster.names.join(' ')}; rogue ${cluster.rogueName} (wrong cookie)`);
    const first = await check([]);
    if (first.length > 0) throw new Error(`cluster did not form: ${first.join('; ')}`);
    writer.start();
    rogue.start();
    const next = makeSchedule(makeRng(opts.seed), cluster.names.length);
    const maxFaults = opts.maxFaults ?? 100_000;
    for (let k = 1; k <= maxFaults && Date.now() - started < opts.durationMs && !opts.signal?.aborted; k++) {
      const f = next();
      faultNo = k;
      const stats = faults[f.kind];
      stats.injected++;
      const ackedBefore = writer.acked.length;
      say(`fault #${k}: ${describeFault(f, cluster.names)}`);
      let problems: string[];
      try {
        await inject(f);
        say(`  healed; checking (writes acked so far: ${writer.acked.length}, failed: ${writer.failed})`);
        problems = await check([...writer.acked]);
      } catch (e) {
        problems = [`fault #${k} could not be injected or undone: ${(e as Error).message}`];
      }
      stats.writesAcked += writer.acked.length - ackedBefore;
      if (problems.length === 0) {
        stats.checksPassed++;
        checksPassed++;
        stats.writesVerified += writer.acked.length - ackedBefore;
        say(`  invariants hold`);
      } else {
        stats.checksFailed++;
        for (const p of problems) {
          violations.push(`fault #${k} (${describeFault(f, cluster.names)}): ${p}`);
          say(`  VIOLATION: ${p}`);
        }
        if (!opts.keepGoing) break;
      }
    }
    await writer.stop();
    await rogue.stop();
    const acked = [...writer.acked];
    const final = opts.signal?.aborted ? ['aborted'] : await check(acked);
    if (final.length === 0) checksPassed++;
    for (const p of final) violations.push(`final check: ${p}`);
    const rogueRefusalsLogged: Record<string, number> = {};
    let protocolErrorsLogged = 0;
    // After an abort the sandboxes are gone: there are no logs left to read.
    for (const n of opts.signal?.aborted ? [] : cluster.nodes) {
      protocolErrorsLogged += (n.logText().match(/"reason":"protocol_error"/g) ?? []).length;
      const { refusals, other } = rogueInLog(n.logText(), cluster.rogueName, cluster.rogueIp);
      rogueRefusalsLogged[n.name] = refusals;
      if (refusals === 0 && rogue.targeted.has(n.name)) violations.push(`${n.name}: no refusal of ${cluster.rogueName} in its log`);
      if (other.length > 0) violations.push(`${n.name}: log lines about the rogue that are not refusals: ${other.slice(0, 3).join(' / ')}`);
    }
    const report: ChaosReport = {
      seed: opts.seed,
      durationMs: Date.now() - started,
      faults,
      partitionShapes,
      pausesOverTicktime,
      writesAcked: acked.length,
      writesFailed: writer.failed,
      writesVerified: final.length === 0 ? acked.length : 0,
      checksPassed,
      rogueAttempts: rogue.attempts,
      rogueFailureReasons: rogue.reasons,
      rogueRefusalsLogged,
      violations,
      findings,
      protocolErrorsLogged,
    };
    say(`done: ${JSON.stringify(report)}`);
    return report;
  } finally {
    await writer.stop();
    await rogue.stop();
    await cluster.cleanup();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function parseArgs(argv: readonly string[]): { minutes: number; seed: number; keepGoing: boolean; faults: number | undefined; slot: number | undefined } {
  let minutes = 3;
  let slot: number | undefined;
  let faults: number | undefined;
  let seed = Math.floor(Math.random() * 2 ** 31);
  let keepGoing = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a}: expected a non-negative number, got ${JSON.stringify(argv[i])}`);
      return v;
    };
    if (a === '--minutes') minutes = num();
    else if (a === '--seed') seed = Math.floor(num());
    else if (a === '--faults') faults = Math.floor(num());
    else if (a === '--slot') slot = Math.floor(num());
    else if (a === '--keep-going') keepGoing = true;
    else throw new Error(`unknown argument ${JSON.stringify(a)} (usage: npm run chaos -- [--minutes N] [--seed S] [--faults N] [--slot N] [--keep-going])`);
  }
  return { minutes, seed, keepGoing, faults, slot };
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`chaos: ${(e as Error).message}`);
    process.exit(2);
  }
  const ac = new AbortController();
  const onSignal = (sig: string): void => {
    console.error(`chaos: ${sig}: undoing faults and stopping the nodes`);
    ac.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await runChaos({ seed: args.seed, durationMs: args.minutes * 60_000, maxFaults: args.faults, slot: args.slot, keepGoing: args.keepGoing, signal: ac.signal });
    console.log(`\nseed ${r.seed}: ${r.violations.length === 0 ? 'all invariants held' : `${r.violations.length} violation(s)`}`);
    for (const v of r.violations) console.log(`  - ${v}`);
    if (r.findings.length > 0) console.log(`findings (operator-visible failures worked around):`);
    for (const v of r.findings) console.log(`  - ${v}`);
    if (r.protocolErrorsLogged > 0) console.log(`protocol_error link drops in the members' logs: ${r.protocolErrorsLogged}`);
    process.exitCode = r.violations.length === 0 ? 0 : 1;
  } catch (e) {
    console.error(`chaos: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
