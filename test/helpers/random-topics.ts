// Seeded random topics and filters for the generated tests of topic matching and the indexes:
// the same cases every run, so a failure is replayed from its seed.
import { prng } from './prng.js';

/** A seeded integer source: rnd(n) is uniform in [0, n). */
export type IntRng = (n: number) => number;

export function intRng(seed: number): IntRng {
  const next = prng(seed);
  return (n) => Math.floor(next() * n);
}

/** Levels that exercise the edge cases: empty levels, `$` topics, `$` inside a level. */
const WORDS = ['a', 'b', 'c', 'ab', '', '$SYS', '$x', 'x$'];

/** A valid topic name of 1–5 levels (an empty string is not a topic: it becomes '/'). */
export function randomTopic(rnd: IntRng): string {
  return Array.from({ length: 1 + rnd(5) }, () => WORDS[rnd(WORDS.length)]!).join('/') || '/';
}

/** Valid filters of every shape: exact, '+' anywhere, '#' last, '#' and '+/+' at the root. */
export function randomFilter(rnd: IntRng): string {
  const r = rnd(20);
  if (r === 0) return '#';
  if (r === 1) return '+/+';
  if (r === 2) return '+';
  const levels = Array.from({ length: 1 + rnd(5) }, () => (rnd(4) === 0 ? '+' : WORDS[rnd(WORDS.length)]!));
  if (rnd(4) === 0) levels[levels.length - 1] = '#';
  return levels.join('/') || '/';
}
