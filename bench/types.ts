// Shared shape of benchmark results: every bench/<area>.ts exports `run()` returning sections,
// and bench/run.ts runs them all in one go, prints one table and writes bench/results.json.

export interface BenchRow {
  /** What was measured, e.g. `connect+handshake (inet_tcp)`. */
  readonly name: string;
  readonly unit: string;
  readonly ours: number | null;
  /** The reference figure measured in the same run (Erlang, raw TCP, ...), when there is one. */
  readonly reference?: number | null;
  /** What the reference is, e.g. `Erlang/OTP 25 dist`. */
  readonly referenceName?: string;
  /** true when a larger figure is better (throughput), false for times. */
  readonly higherIsBetter?: boolean;
  readonly note?: string;
  /** Per-round figures behind a median, for bench/results.json (not shown in the table). */
  readonly rounds?: { readonly ours: readonly number[]; readonly reference: readonly number[] };
}

export interface BenchSection {
  readonly title: string;
  readonly rows: readonly BenchRow[];
}

export type BenchModule = { run(opts: { quick: boolean }): Promise<BenchSection[]> };

/** ours relative to the reference, oriented so that > 1 means we are better. */
export function advantage(row: BenchRow): number | null {
  if (row.ours == null || row.reference == null || row.ours === 0 || row.reference === 0) return null;
  return row.higherIsBetter ? row.ours / row.reference : row.reference / row.ours;
}

/** Percentile of a sample (p in 0..100), nearest-rank. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
