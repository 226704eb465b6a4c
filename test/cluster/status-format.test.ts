import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erlAtom, erlReason, formatStatusJson, formatStatusLine, formatVerbose } from '../../src/cluster/status-format.js';

test('status line is Erlang map printing with quoted, sorted atoms', () => {
  assert.equal(
    formatStatusLine({ running: ['emqx2@127.0.0.1', 'emqx1@127.0.0.1'], stopped: [] }),
    // Past 80 columns, broken as Erlang's ~p breaks it (erl-pretty.test.ts checks against Erlang).
    "Cluster status: #{running_nodes => ['emqx1@127.0.0.1','emqx2@127.0.0.1'],\n                  stopped_nodes => []}",
  );
  assert.equal(
    formatStatusLine({ running: ['a@h'], stopped: ['c@h', 'b@h'] }),
    "Cluster status: #{running_nodes => ['a@h'],stopped_nodes => ['b@h','c@h']}",
  );
});

test('atoms escape quotes and backslashes', () => {
  assert.equal(erlAtom("it's"), "'it\\'s'");
  assert.equal(erlAtom('a\\b'), "'a\\\\b'");
  assert.equal(erlReason('node_down', 'n@h'), "{node_down,'n@h'}");
  assert.equal(erlReason('singleton'), 'singleton');
});

test('--json is pretty JSON with the two sorted lists', () => {
  const s = formatStatusJson({ running: ['b@h', 'a@h'], stopped: ['c@h'] });
  assert.equal(s, '{\n  "running_nodes": [\n    "a@h",\n    "b@h"\n  ],\n  "stopped_nodes": [\n    "c@h"\n  ]\n}');
});

test('verbose rows are aligned, sorted, with UTC times and dashes for unknowns', () => {
  const out = formatVerbose([
    { node: 'b@127.0.0.2', state: 'stopped', since: Date.UTC(2026, 0, 2, 3, 4, 5) },
    { node: 'a@127.0.0.1', state: 'running', address: '127.0.0.1:4370', transport: 'tcp', since: Date.UTC(2026, 0, 1), lastSeen: Date.UTC(2026, 0, 1, 0, 0, 9) },
  ]);
  const lines = out.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^NODE\s+STATE\s+ADDRESS\s+TRANSPORT\s+SINCE\s+LAST SEEN$/);
  assert.match(lines[1]!, /^a@127\.0\.0\.1\s+running\s+127\.0\.0\.1:4370\s+tcp\s+2026-01-01T00:00:00Z\s+2026-01-01T00:00:09Z$/);
  assert.match(lines[2]!, /^b@127\.0\.0\.2\s+stopped\s+-\s+-\s+2026-01-02T03:04:05Z\s+-$/);
  assert.equal(lines[1]!.indexOf('running'), lines[2]!.indexOf('stopped'));
});
