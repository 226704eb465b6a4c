// The dashboard page in headless Chromium (Debian's chromium through puppeteer-core) against a
// real three-node cluster: log in, see three nodes, publish from the page (plain, retained,
// delayed) and delete the retained and delayed messages from their tables, trace a client and
// view its packets, meter a topic, see the access control and clean the authorization cache, add
// and delete a dashboard user and change the default password, see each node's alarm and clear
// the history, stop a node and see it turn stopped within seconds, kick a client, no console
// errors; a screenshot is written for review. Expressions evaluated in the page are strings: this
// file is type-checked without the DOM's types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import puppeteer from 'puppeteer-core';
import { createTestNodes } from '../helpers/launcher.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const CHROMIUM = '/usr/bin/chromium';
const NAMES = ['emqx1@127.0.0.1', 'emqx2@127.0.0.1', 'emqx3@127.0.0.1'];
export const SCREENSHOT = join(tmpdir(), 'emqx-ts-dashboard.png');

test('the dashboard in headless Chromium', { timeout: 180_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) return skipOrFail(t, `${CHROMIUM} (Debian package chromium)`);
  // Every node raises its system memory alarm: any machine uses more than 1 % of its memory.
  const conf = (mem: string): string => `dashboard.sample_interval = 1s\nsysmon.os { sysmem_high_watermark = "${mem}", mem_check_interval = 1s }\n`;
  const [n1, n2, n3] = await createTestNodes(t, NAMES, { dashboard: true, mqtt: true, conf: conf('1%') });
  for (const n of [n1!, n2!, n3!]) await n.startOk();
  for (const n of [n2!, n3!]) {
    const r = await n.ctl(['cluster', 'join', n1!.name]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
  const client = await connectAsync(`mqtt://127.0.0.1:${n1!.mqttPort}`, { clientId: 'browser-kick-me', reconnectPeriod: 0, connectTimeout: 5000 });
  t.after(() => client.end(true));
  await client.subscribeAsync('dash/#', { qos: 0 });
  for (let i = 0; i < 20; i++) await client.publishAsync('dash/t', `m${i}`, { qos: 0 });
  // A persistent session on emqx2 whose client is away: what is published meanwhile waits for it.
  const away = await connectAsync(`mqtt://127.0.0.1:${n2!.mqttPort}`, { clientId: 'browser-away', clean: false, reconnectPeriod: 0, connectTimeout: 5000 });
  await away.subscribeAsync('dash/away', { qos: 1 });
  await away.endAsync();
  for (const m of ['waits-1', 'waits-2']) await client.publishAsync('dash/away', m, { qos: 1 });

  const profile = mkdtempSync(join(tmpdir(), 'emqx-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
    protocolTimeout: 30_000,
  });
  t.after(async () => {
    // Closed by its process id if a graceful close hangs; its profile removed only then (while
    // it runs it writes there, and a failed removal must not keep the browser alive).
    const pid = browser.process()?.pid;
    await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 5000))]);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1400 });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  // Which call failed, beside the console's "Failed to load resource".
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.setDefaultTimeout(15_000);
  /**
   * Clicks a button of a table row in the page, in one step: every refresh redraws the tables, so
   * a handle taken first could be detached by the time it is clicked.
   */
  const clickRow = async (selector: string): Promise<void> => {
    await page.waitForSelector(selector);
    await page.evaluate(`document.querySelector(${JSON.stringify(selector)}).click()`);
  };

  await page.goto(`http://127.0.0.1:${n1!.dashboardPort}/`, { waitUntil: 'load' });
  await page.waitForSelector('#login-form', { visible: true });
  await page.type('#password', 'public');
  await page.click('#login-button');
  await page.waitForSelector('#app', { visible: true });
  assert.match(await page.$eval('#warning', (e) => e.textContent ?? ''), /default password/);

  // Three nodes, all running.
  await page.waitForFunction("document.querySelectorAll('#topology g.node.running').length === 3");
  const shown = await page.$$eval('#topology g.node', (gs) => gs.map((g) => g.getAttribute('data-node')).sort());
  assert.deepEqual(shown, NAMES);

  // The client is listed; the chart has samples.
  await page.waitForSelector('#clients tr[data-clientid="browser-kick-me"]');
  await page.waitForFunction("document.querySelectorAll('#chart path').length === 2", { timeout: 20_000 });

  // Publish from the page: the client gets it, the retained message is listed and deleted there.
  const got = new Promise<string>((resolve) => {
    const on = (topic: string, payload: Buffer): void => {
      if (topic !== 'dash/page') return;
      client.off('message', on);
      resolve(payload.toString());
    };
    client.on('message', on);
  });
  await page.type('#pub-topic', 'dash/page');
  await page.type('#pub-payload', 'from the page');
  await page.click('#pub-retain');
  await page.click('#pub-button');
  assert.equal(await got, 'from the page');
  await page.waitForFunction("document.querySelector('#pub-result').textContent.startsWith('published, id ')");
  await page.waitForSelector('#retained tr[data-key="dash/page"]');
  // A delayed one is listed with its node, and deleted from its row.
  await page.evaluate("document.querySelector('#pub-topic').value = '$delayed/600/dash/later'; document.querySelector('#pub-retain').checked = false");
  await page.click('#pub-button');
  await page.waitForFunction("[...document.querySelectorAll('#delayed tbody tr')].some((tr) => tr.textContent.includes('dash/later') && tr.textContent.includes('emqx1@127.0.0.1'))");
  await clickRow('#delayed tbody tr button.kick');
  await page.waitForFunction("document.querySelectorAll('#delayed tbody tr').length === 0");
  await clickRow('#retained tr[data-key="dash/page"] button.kick');
  await page.waitForFunction(`document.querySelector('#retained tr[data-key="dash/page"]') === null`);

  // A log trace of the client from the page: its packets are viewed there, then it is stopped and deleted.
  await page.type('#trace-name', 'kickme');
  await page.type('#trace-filter', 'browser-kick-me');
  await page.click('#trace-button');
  await page.waitForSelector('#traces tr[data-key="kickme"]');
  await client.publishAsync('dash/traced', 'seen by the trace', { qos: 1 });
  await page.waitForFunction("/[1-9][0-9]* bytes/.test(document.querySelector('#traces tr[data-key=\"kickme\"]').textContent)");
  await clickRow('#traces tr[data-key="kickme"] button.view');
  await page.waitForFunction("document.querySelector('#trace-log').textContent.includes('Topic=dash/traced')");
  await clickRow('#traces tr[data-key="kickme"] button.stop');
  await page.waitForFunction("document.querySelector('#traces tr[data-key=\"kickme\"]').textContent.includes('stopped')");
  await clickRow('#traces tr[data-key="kickme"] button.kick:not(.stop)');
  await page.waitForFunction(`document.querySelector('#traces tr[data-key="kickme"]') === null`);

  // Topic metrics: a topic metered from the page counts what is published to it.
  await page.type('#metrics-topic', 'dash/metered');
  await page.click('#metrics-button');
  await page.waitForSelector('#topic-metrics tr[data-key="dash/metered"]');
  for (let i = 0; i < 3; i++) await client.publishAsync('dash/metered', `m${i}`, { qos: 1 });
  await page.waitForFunction("document.querySelector('#topic-metrics tr[data-key=\"dash/metered\"] td:nth-child(2)').textContent === '3'");
  await clickRow('#topic-metrics tr[data-key="dash/metered"] button.kick');
  await page.waitForFunction(`document.querySelector('#topic-metrics tr[data-key="dash/metered"]') === null`);

  // Access control: the default acl.conf source is listed; the cache is cleaned from the page.
  await page.waitForSelector('#authz tr[data-key="file"]');
  await page.waitForSelector('#authn tr[data-key="none"]');
  assert.match(await page.$eval('#authz tr[data-key="file"]', (e) => e.textContent ?? ''), /acl\.conf/);
  await page.click('#authz-clean');
  await page.waitForFunction("document.querySelector('#authz-result').textContent.includes('asks the sources again')");

  // Dashboard users: one added from the page, the default password changed there (the page logs
  // in again with the new one and the warning goes), the added user deleted from its row; no
  // Delete button on one's own row.
  await page.waitForSelector('#users tr[data-key="admin"]');
  assert.equal(await page.$$eval('#users tr[data-key="admin"] button', (bs) => bs.length), 0);
  await page.type('#user-name', 'ops');
  await page.type('#user-password', 'g00d-passw0rd');
  await page.click('#user-button');
  await page.waitForSelector('#users tr[data-key="ops"]');
  await page.type('#old-pwd', 'public');
  await page.type('#new-pwd', 'n3w-passw0rd');
  await page.click('#passwd-button');
  await page.waitForFunction("document.querySelector('#users-result').textContent.startsWith('password of admin changed')");
  assert.equal(await page.$eval('#warning', (e) => (e as unknown as { hidden: boolean }).hidden), true);
  await clickRow('#users tr[data-key="ops"] button.kick');
  await page.waitForFunction(`document.querySelector('#users tr[data-key="ops"]') === null`);
  assert.match(await page.$eval('#users-result', (e) => e.textContent ?? ''), /ops deleted/);

  // Alarms: one active per node; emqx1's clears on a reload and goes to the history, which the
  // page clears.
  await page.waitForFunction("document.querySelectorAll('#alarms tr.alarm-active').length === 3");
  assert.match(await page.$eval('#alarms', (e) => e.textContent ?? ''), /high_system_memory_usage.*mem usage/);
  n1!.writeConf(conf('99%'));
  assert.equal((await n1!.ctl(['conf', 'reload'])).code, 0);
  await page.waitForFunction("document.querySelectorAll('#alarms tr.alarm-active').length === 2 && document.querySelectorAll('#alarms tbody tr').length === 3");
  await page.click('#alarm-history-clear');
  await page.waitForFunction("document.querySelectorAll('#alarms tbody tr').length === 2 && document.querySelector('#alarm-history-count').textContent === '0 in the history'");

  // emqx3 stops: the page shows it stopped within seconds, without a reload.
  const stopped = await n3!.stop();
  assert.equal(stopped.code, 0);
  const t0 = Date.now();
  await page.waitForSelector('#topology g.node.stopped[data-node="emqx3@127.0.0.1"]', { timeout: 10_000 });
  t.diagnostic(`emqx3 shown as stopped ${Date.now() - t0} ms after emqx stop returned`);
  assert.equal(await page.$$eval('#topology g.node.running', (gs) => gs.length), 2);

  // The away client's queue, from its row: two messages wait for it on emqx2.
  await page.waitForFunction(`document.querySelector('#clients tr[data-clientid="browser-away"]')?.textContent.includes('0 / 2')`);
  await clickRow('#clients tr[data-clientid="browser-away"] button.view');
  await page.waitForFunction(`document.querySelector('#client-messages').textContent.includes('waits-2')`);
  const listed = await page.$eval('#client-messages', (e) => e.textContent ?? '');
  assert.match(listed, /in flight \(sent, not acknowledged\): none\nqueued: \n {2}dash\/away {2}QoS 1 {2}"waits-1" {2}from browser-kick-me, .*\n {2}dash\/away {2}QoS 1 {2}"waits-2"/);

  // Kick the client from its row.
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await clickRow('#clients tr[data-clientid="browser-kick-me"] button.kick');
  await closed;
  await page.waitForFunction(`document.querySelector('#clients tr[data-clientid="browser-kick-me"]') === null`);

  // Ban a client id from the page: a client with it is refused; unban it from its row.
  await page.type('#ban-who', 'browser-banned');
  await page.type('#ban-reason', 'from the page');
  await page.click('#ban-button');
  await page.waitForSelector('#banned tr[data-key="clientid:browser-banned"]');
  assert.match(await page.$eval('#banned tr[data-key="clientid:browser-banned"]', (e) => e.textContent ?? ''), /from the page/);
  await assert.rejects(connectAsync(`mqtt://127.0.0.1:${n2!.mqttPort}`, { clientId: 'browser-banned', reconnectPeriod: 0, connectTimeout: 5000 }), /Not authorized|Banned|refused/i);
  await clickRow('#banned tr[data-key="clientid:browser-banned"] button.kick');
  await page.waitForFunction(`document.querySelector('#banned tr[data-key="clientid:browser-banned"]') === null`);
  const back = await connectAsync(`mqtt://127.0.0.1:${n2!.mqttPort}`, { clientId: 'browser-banned', reconnectPeriod: 0, connectTimeout: 5000 });
  await back.endAsync();

  // A backup from the page: exported, listed with its node, imported back, deleted.
  await page.click('#backup-button');
  await page.waitForFunction("/^emqx-export-.*\\.tar\\.gz written on emqx1@127\\.0\\.0\\.1$/.test(document.querySelector('#backup-result').textContent)");
  await page.waitForSelector('#backups tr[data-key^="emqx1@127.0.0.1/emqx-export-"]');
  await clickRow('#backups tr[data-key^="emqx1@127.0.0.1/emqx-export-"] button.import');
  await page.waitForFunction("/^emqx-export-.* imported$/.test(document.querySelector('#backup-result').textContent)");
  // Uploaded back under another name from a file on disk (the page's file picker).
  const exportName = await page.$eval('#backups tr[data-key^="emqx1@127.0.0.1/emqx-export-"]', (e) => e.getAttribute('data-key')!.split('/')[1]!);
  const dl = await fetch(`http://127.0.0.1:${n1!.dashboardPort}/api/v5/data/files/${exportName}`, { headers: { authorization: `Bearer ${await page.evaluate("sessionStorage.getItem('emqx-ts.token')")}` } });
  const local = join(profile, 'restored.tar.gz');
  writeFileSync(local, Buffer.from(await dl.arrayBuffer()));
  const picker = await page.$('#upload-file');
  await (picker as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(local);
  await page.click('#upload-button');
  await page.waitForFunction("document.querySelector('#backup-result').textContent === 'restored.tar.gz uploaded'");
  await page.waitForSelector('#backups tr[data-key="emqx1@127.0.0.1/restored.tar.gz"]');
  await clickRow('#backups tr[data-key="emqx1@127.0.0.1/restored.tar.gz"] button.kick');
  await page.waitForFunction(`document.querySelector('#backups tr[data-key="emqx1@127.0.0.1/restored.tar.gz"]') === null`);
  await clickRow('#backups tr[data-key^="emqx1@127.0.0.1/emqx-export-"] button.kick');
  await page.waitForFunction(`document.querySelector('#backups tr[data-key^="emqx1@127.0.0.1/emqx-export-"]') === null`);

  // The MQTT listeners of the running members: stop tcp:default from its row (every member's
  // port closes), start it again.
  await page.waitForFunction(`document.querySelector('#listeners tr[data-key="tcp:default"]')?.textContent.includes('running on 2')`);
  await clickRow('#listeners tr[data-key="tcp:default"] button.stop');
  await page.waitForFunction(`document.querySelector('#listeners tr[data-key="tcp:default"]')?.textContent.includes('stopped')`);
  await assert.rejects(connectAsync(`mqtt://127.0.0.1:${n2!.mqttPort}`, { clientId: 'while-stopped', reconnectPeriod: 0, connectTimeout: 3000 }));
  await clickRow('#listeners tr[data-key="tcp:default"] button.start');
  await page.waitForFunction(`document.querySelector('#listeners tr[data-key="tcp:default"]')?.textContent.includes('running on 2')`);
  const again = await connectAsync(`mqtt://127.0.0.1:${n2!.mqttPort}`, { clientId: 'after-start', reconnectPeriod: 0, connectTimeout: 5000 });
  await again.endAsync();

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.diagnostic(`screenshot: ${SCREENSHOT}`);
  assert.deepEqual(errors, [], `console errors: ${errors.join('\n')}`);
});
