// Key paths as arrays of keys.

export function overlaps(a: readonly string[], b: readonly string[]): boolean {
  return isPrefix(a, b) || isPrefix(b, a);
}

export function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (prefix[i] !== path[i]) return false;
  return true;
}

export function keyOf(path: readonly string[], n: number): string {
  return `${n}|${path.slice(0, n).join('\u0000')}`;
}
