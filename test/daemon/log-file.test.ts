// EMQX's log file settings on a running daemon: path, rotation and formatter at start, moved and
// switched by a reload, and a path that cannot be written refused while the old file goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestNode } from '../helpers/launcher.js';
import { waitFor } from '../helpers/cluster-status.js';
import { closeAll, open } from '../helpers/mqtt-client.js';

const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');

test('log.file: path, rotation and the text formatter at start; a reload moves the file and switches to JSON; an unwritable path is refused', async (t) => {
  const fileConf = (body: string): string => `log {\n  file {\n    level = debug\n${body}\n  }\n}\n`;
  const node = await createTestNode(t, {
    name: 'logf1@127.0.0.1',
    conf: fileConf('    path = "${EMQX_LOG_DIR}/custom/node.log"\n    rotation_size = 4KB\n    rotation_count = 2\n    formatter = text'),
  });
  await node.startOk();
  const live = join(node.logDir, 'custom', 'node.log');
  // EMQX's text lines, in the configured file; nothing in the default one.
  assert.match(read(live).split('\n')[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[(debug|info|warning)\] msg: \S/);
  assert.ok(!existsSync(join(node.logDir, 'emqx.log')), 'the default file is not written');
  assert.equal((await node.ctl(['conf', 'show', 'log.file.path'])).stdout, `log.file.path = ${JSON.stringify(live)}\n`);
  // Debug lines (one per config directory event) until the file has rotated twice, then once
  // more: with rotation_count = 2 the oldest is dropped, not kept as node.log.3.
  const touch = (): void => writeFileSync(join(node.etcDir, 'touched.txt'), String(Date.now()));
  await waitFor('node.log rotated into node.log.1 and node.log.2', async () => {
    touch();
    return existsSync(`${live}.2`);
  }, 20_000);
  const second = read(`${live}.2`);
  await waitFor('one more rotation', async () => {
    touch();
    return read(`${live}.2`) !== second;
  }, 20_000);
  assert.ok(!existsSync(`${live}.3`), 'rotation_count = 2 keeps two rotated files');
  for (const f of [live, `${live}.1`]) assert.ok(read(f).length <= 4096 + 2048, `${f} is near rotation_size: ${read(f).length} bytes`);

  // Moved, JSON lines, never rotated.
  const moved = join(node.logDir, 'moved.log');
  writeFileSync(node.confFile, readFileSync(node.confFile, 'utf8').replace(/log \{[\s\S]*$/, fileConf('    path = "${EMQX_LOG_DIR}/moved.log"\n    formatter = json\n    rotation_size = infinity')));
  // The config watcher may apply the save before this asks; either way the file moves.
  const reload = await node.ctl(['conf', 'reload']);
  assert.equal(reload.code, 0, reload.stdout + reload.stderr);
  await waitFor('JSON lines in moved.log', () => Promise.resolve(read(moved).split('\n').some((l) => l.startsWith('{"level":'))), 10_000);
  const before = read(live).length;

  // A path whose directory is a regular file: refused whole, the node keeps writing moved.log.
  const blocker = join(node.dir, 'not-a-dir');
  writeFileSync(blocker, '');
  writeFileSync(node.confFile, readFileSync(node.confFile, 'utf8').replace('"${EMQX_LOG_DIR}/moved.log"', `"${blocker}/x.log"`));
  const bad = await node.ctl(['conf', 'reload']);
  // Refused by this reload (and by the watcher's, if it came first: a refused change stays pending).
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stdout, /refused: log: log could not apply the change and keeps its running settings: log file directory \S+\/not-a-dir is not a directory \(a file of that name is in the way\)/);
  // A path under /proc (where Node's own recursive mkdir never returns): refused at once, too.
  writeFileSync(node.confFile, readFileSync(node.confFile, 'utf8').replace(`"${blocker}/x.log"`, '"/proc/emqx-nope/x.log"'));
  const proc = await node.ctl(['conf', 'reload']);
  assert.equal(proc.code, 1, proc.stdout);
  assert.match(proc.stdout, /refused: log: .*log file directory \/proc\/emqx-nope cannot be created: ENOENT/);
  await waitFor('lines still reach moved.log', async () => {
    writeFileSync(join(node.etcDir, 'touched.txt'), String(Date.now()));
    return read(moved).includes('config directory event');
  }, 10_000);
  assert.equal(read(live).length, before, 'the old file is not written once moved');
  assert.equal((await node.ctl(['log', 'primary-level'])).stdout, 'debug\n');
});

test('log.console: the terminal of console and foreground takes the formatter set, or nothing with enable = false', async (t) => {
  const cases = [
    { mode: 'foreground', conf: 'log { console { formatter = text } }', expect: /^\S+ \[info\] msg: / },
    { mode: 'console', conf: 'log { console { formatter = json } }', expect: /^\{"level":30,/ },
    { mode: 'foreground', conf: 'log { console { enable = false, level = debug } }', expect: undefined },
  ] as const;
  for (const [i, c] of cases.entries()) {
    const node = await createTestNode(t, { name: `logc${i}@127.0.0.1`, conf: `${c.conf}\n` });
    const child = node.spawnForeground(c.mode);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise((res) => child.once('exit', res));
    try {
      // The file has every line whatever the terminal shows.
      await waitFor(`${c.mode} started`, () => Promise.resolve(/node logc\d@127\.0\.0\.1 started/.test(read(join(node.logDir, 'emqx.log')))), 15_000);
      if (c.expect === undefined) {
        assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
        assert.equal(out, '', 'console.enable = false: nothing on the terminal');
      } else {
        await waitFor(`a start line on the terminal of ${c.mode}`, () => Promise.resolve(/started/.test(out)), 10_000);
        assert.match(out.split('\n')[0]!, c.expect, out);
      }
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 15_000).unref())]);
    }
  }
});

test('each handler writes from its own level: log.file.level below the console level keeps info out of the file; ctl log handlers changes it live', async (t) => {
  const node = await createTestNode(t, { name: 'logh1@127.0.0.1', conf: 'log {\n  console { level = debug }\n  file { level = warning }\n}\n' });
  await node.startOk();
  const file = join(node.logDir, 'emqx.log');
  assert.equal((await node.ctl(['log', 'handlers', 'list'])).stdout, `LogHandler(id=default, level=warning, destination=${file}, status=started)\n`);
  assert.equal((await node.ctl(['log', 'primary-level'])).stdout, 'debug\n');
  assert.doesNotMatch(read(file), /"level":(20|30),/, 'no debug or info line in a file at warning');
  assert.equal((await node.ctl(['log', 'handlers', 'set-level', 'default', 'debug'])).stdout, 'debug\n');
  await waitFor('a debug line once the file handler is at debug', async () => {
    writeFileSync(join(node.etcDir, 'touched.txt'), String(Date.now()));
    return read(file).includes('"msg":"config directory event"');
  }, 10_000);
  assert.equal((await node.ctl(['log', 'handlers', 'stop', 'default'])).stdout, 'log handler default stopped\n');
  const stopped = read(file).length;
  // Logged (at info) while the command runs: a stopped handler does not write it.
  assert.equal((await node.ctl(['log', 'primary-level', 'debug'])).stdout, 'debug\n');
  assert.equal((await node.ctl(['log', 'handlers', 'start', 'default'])).stdout, 'log handler default started\n');
  const after = read(file).slice(stopped);
  assert.match(after, /"msg":"log handler default started \(emqx ctl log\)"/);
  assert.doesNotMatch(after, /log level set to debug/, 'nothing is written while the handler is stopped');
});

test('a full disk under the log (emqx.log and daemon.out on /dev/full): the node starts, serves and stops; the lines are lost, not the node', async (t) => {
  const node = await createTestNode(t, { name: 'logfull1@127.0.0.1', mqtt: true });
  mkdirSync(node.logDir, { recursive: true });
  for (const f of ['emqx.log', 'daemon.out']) symlinkSync('/dev/full', join(node.logDir, f));
  await node.startOk();
  assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
  const status = await node.ctl(['status']);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  // Logging goes on at every step (reload, ctl): each line is dropped, never thrown.
  assert.equal((await node.ctl(['log', 'set-level', 'debug'])).stdout, 'debug\n');
  const reload = await node.ctl(['conf', 'reload']);
  assert.equal(reload.code, 0, reload.stdout + reload.stderr);
  const c = await open(node.mqttPort!, { clientId: 'full-disk' });
  await c.subscribe('t');
  await c.publish('t', 'still here', { qos: 1 });
  await c.inbox.until(() => c.inbox.texts().includes('still here'), 5000, 'a message through the node');
  await c.end();
  await closeAll();
  assert.equal((await node.stop()).code, 0);
});
