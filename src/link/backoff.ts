// Reconnect delays: exponential with "equal jitter" (half fixed, half random), so a restarted
// cluster does not stampede a peer in lockstep yet never waits longer than the cap.

export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
