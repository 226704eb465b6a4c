import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyPoll, PollChoice } from '../../src/link/busy-poll.js';
import { randomBasePort, startNode } from './fixtures.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('busy polling turns the event loop while a call waits and stops at its answer', async () => {
  const p = new BusyPoll(10_000);
  const token = p.begin(performance.now());
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(p.active, true);
  assert.ok(p.turns >= 4, `${p.turns} turns`);
  p.end(token);
  await turn();
  await turn();
  assert.equal(p.active, false);
  const after = p.turns;
  await turn();
  assert.equal(p.turns, after);
});

test('busy polling stops at the end of its window even when no answer comes', async () => {
  const p = new BusyPoll(5);
  p.begin(performance.now());
  assert.equal(p.active, true);
  await sleep(30);
  // The spin's own turn, queued before this one, has run past the window by now. (Whether it
  // turned at all inside the 5 ms depends on the machine's load: not asserted.)
  await turn();
  assert.equal(p.active, false);
});

test('a call that outlived its window does not end the next spin', async () => {
  // A window wide enough that three turns fit in it on a loaded machine.
  const p = new BusyPoll(250);
  const stale = p.begin(performance.now());
  await sleep(400);
  await turn();
  assert.equal(p.active, false);
  const fresh = p.begin(performance.now());
  p.end(stale);
  for (let i = 0; i < 3; i++) await turn();
  assert.equal(p.active, true, 'the stale answer must not stop the new spin');
  p.end(fresh);
  await turn();
  await turn();
  assert.equal(p.active, false);
});

test('a link tries both ways, then polls only when that is faster, probing the other way', () => {
  const c = new PollChoice();
  const ways: boolean[] = [];
  // Warm-up: both ways alternately. Polled replies take 40 µs, slept ones 100 µs.
  for (let i = 0; i < 8; i++) {
    const poll = c.next(0.25);
    ways.push(poll);
    c.record(poll, poll ? 0.04 : 0.1);
  }
  assert.equal(ways.filter(Boolean).length, 4);
  let polled = 0;
  for (let i = 0; i < 640; i++) {
    const poll = c.next(0.25);
    if (poll) polled++;
    c.record(poll, poll ? 0.04 : 0.1);
  }
  assert.equal(polled, 630, 'all but one call in 64 poll');
  // The machine changes: polling now makes replies slower. The probes notice and the link switches.
  let late = 0;
  for (let i = 0; i < 1280; i++) {
    const poll = c.next(0.25);
    if (i >= 640 && poll) late++;
    c.record(poll, poll ? 0.07 : 0.035);
  }
  assert.equal(late, 10, 'after the switch only the probes poll');
});

test('a peer slower than the window is waited for asleep, and a window of 0 never polls', () => {
  const c = new PollChoice();
  for (let i = 0; i < 8; i++) {
    const poll = c.next(0.25);
    c.record(poll, 5);
  }
  for (let i = 0; i < 200; i++) assert.equal(c.next(0.25), false);
  const off = new PollChoice();
  for (let i = 0; i < 10; i++) assert.equal(off.next(0), false);
});

test('links busy poll for fast replies only, and again once the peer answers fast again', async (t) => {
  const basePort = randomBasePort();
  // Both ends in one process answer slower than two processes would: a window they fit in.
  const a = await startNode(t, 'a1@127.0.0.2', { basePort, busyPollUs: 5000 });
  const b = await startNode(t, 'b2@127.0.0.3', { basePort });
  b.handle('fast', (_f, p) => p);
  b.handle('slow', async (_f, p) => {
    await sleep(20);
    return p;
  });
  await a.connect(b.self);
  const calls = async (channel: string, n: number): Promise<number> => {
    const before = a.busyPollTurns!();
    for (let i = 0; i < n; i++) await a.call(b.self, channel, i);
    return a.busyPollTurns!() - before;
  };
  assert.ok((await calls('fast', 20)) > 0, 'fast replies are polled for');
  // 20 ms replies raise the round trip both ways far above the 5 ms window.
  await calls('slow', 30);
  assert.equal(await calls('slow', 10), 0, 'slow replies are waited for asleep');
  // Fast replies bring the figures down again: the link polls again, at least on its probes.
  assert.ok((await calls('fast', 200)) > 0, 'polling resumes once replies are fast again');
});

test('busyPollUs: 0 never polls, also when a reload sets it on a running node', async (t) => {
  const basePort = randomBasePort();
  const a = await startNode(t, 'a1@127.0.0.2', { basePort, busyPollUs: 0 });
  const c = await startNode(t, 'c3@127.0.0.4', { basePort, busyPollUs: 5000 });
  const b = await startNode(t, 'b2@127.0.0.3', { basePort });
  b.handle('fast', (_f, p) => p);
  await a.connect(b.self);
  await c.connect(b.self);
  for (let i = 0; i < 20; i++) await a.call(b.self, 'fast', i);
  assert.equal(a.busyPollTurns!(), 0);
  for (let i = 0; i < 20; i++) await c.call(b.self, 'fast', i);
  assert.ok(c.busyPollTurns!() > 0);
  await c.reconfigure!({ cookie: 'secret-cookie', clusterName: 'testcl', protoDist: 'inet_tcp', basePort, netTicktimeMs: 4000, busyPollUs: 0 });
  const before = c.busyPollTurns!();
  for (let i = 0; i < 20; i++) await c.call(b.self, 'fast', i);
  assert.equal(c.busyPollTurns!(), before, 'the link that was up stopped polling');
});
