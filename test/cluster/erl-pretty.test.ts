// `Cluster status: ~p` laid out as Erlang lays it out, checked against Erlang itself on generated
// node lists (EMQX formats the line with io_lib:format, 80 columns).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatStatusLine } from '../../src/cluster/status-format.js';
import { erlPretty } from '../../src/cluster/erl-pretty.js';
import { prng } from '../helpers/prng.js';
import { skipOrFail } from '../helpers/prerequisite.js';

test('a term that fits stays on one line; a long one breaks as io_lib_pretty breaks it', () => {
  assert.equal(erlPretty({ list: [{ text: 'a' }, { text: 'b' }] }), '[a,b]');
  assert.equal(
    formatStatusLine({ running: ['emqx1@127.0.0.1', 'emqx2@127.0.0.2', 'emqx3@127.0.0.3', 'emqx4@127.0.0.4'], stopped: ['emqx1@127.0.0.1', 'emqx2@127.0.0.2'] }),
    [
      'Cluster status: #{running_nodes =>',
      "                      ['emqx1@127.0.0.1','emqx2@127.0.0.2','emqx3@127.0.0.3',",
      "                       'emqx4@127.0.0.4'],",
      "                  stopped_nodes => ['emqx1@127.0.0.1','emqx2@127.0.0.2']}",
    ].join('\n'),
  );
});

function randomStatus(rnd: () => number): { running: string[]; stopped: string[] } {
  const name = (): string => {
    const part = `n${Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 12)))}`;
    const host = rnd() < 0.5 ? `127.0.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}` : `host${Math.floor(rnd() * 1000)}.${'x'.repeat(Math.floor(rnd() * 40))}.example.com`;
    return `${part}@${host}`;
  };
  const many = (max: number): string[] => [...new Set(Array.from({ length: Math.floor(rnd() * (max + 1)) }, name))];
  return { running: [name(), ...many(10)], stopped: many(6) };
}

test('300 generated statuses print exactly as Erlang prints them', (t) => {
  const rnd = prng(20261203);
  const cases = Array.from({ length: 300 }, () => randomStatus(rnd));
  const atoms = (names: string[]): string => `[${[...names].sort().map((n) => `list_to_atom("${n}")`).join(',')}]`;
  // An escript (an -eval argument of this size is over the kernel's limit for one argument).
  const script = [
    '#!/usr/bin/env escript',
    'main(_) ->',
    '  Print = fun(R, S) -> io:put_chars(io_lib:format("Cluster status: ~p~n", [#{running_nodes => R, stopped_nodes => S}])), io:put_chars("\\x{1e}\\n") end,',
    ...cases.map((c) => `  Print(${atoms(c.running)}, ${atoms(c.stopped)}),`),
    '  ok.',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'erl-pretty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'status.escript'), `${script}\n`);
  const erl = spawnSync('escript', [join(dir, 'status.escript')], { encoding: 'utf8', timeout: 60_000 });
  if ((erl.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return skipOrFail(t, 'Erlang is not installed (escript not found)');
  assert.equal(erl.status, 0, erl.stderr);
  const expected = erl.stdout.split('\x1e\n').slice(0, -1);
  assert.equal(expected.length, cases.length, erl.stdout.slice(0, 500));
  let wrapped = 0;
  cases.forEach((c, i) => {
    const want = expected[i]!;
    if (want.trimEnd().includes('\n')) wrapped++;
    assert.equal(`${formatStatusLine(c)}\n`, want, `case ${i}: ${JSON.stringify(c)}`);
  });
  assert.ok(wrapped > 200, `only ${wrapped} cases wrapped`);
});
