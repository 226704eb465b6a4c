// PostgreSQL and MySQL (MariaDB) authentication and authorization against a running node, a
// real database server (password authentication over TCP) and real clients: users from EMQX's
// query (salted sha256, a superuser, a user name that tries SQL injection), rules from the rows of
// another (deny before allow by row order, a `${username}` topic, QoS given as text; a row that is
// not a rule is skipped), and the checks falling through while the database is down.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { poll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { mysqlInstalled, startMysql } from '../helpers/mysql.js';
import { postgresInstalled, startPostgres } from '../helpers/postgres.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { connackCode, pubackCode, rawSession, subackCodes } from './helpers.js';

const DB_PW = 'db-secret';
const hashed = (salt: string, password: string): string => createHash('sha256').update(salt + password).digest('hex');

interface Db {
  readonly port: number;
  sql(text: string): string;
  stop(): Promise<void>;
}

interface Backend {
  readonly name: 'postgresql' | 'mysql';
  readonly label: string;
  readonly package: string;
  installed(): boolean;
  start(): Promise<Db>;
  /** How the node logs in: `username = ..., database = ...`. */
  readonly login: string;
  /** An auto-numbered primary key column. */
  readonly id: string;
  readonly bool: string;
}

const BACKENDS: readonly Backend[] = [
  { name: 'postgresql', label: 'PostgreSQL', package: 'postgresql', installed: postgresInstalled, start: () => startPostgres(DB_PW), login: 'username = postgres, database = postgres', id: 'id serial PRIMARY KEY', bool: 'boolean' },
  { name: 'mysql', label: 'MySQL (MariaDB)', package: 'mariadb-server', installed: mysqlInstalled, start: () => startMysql(DB_PW), login: 'username = emqx, database = mqtt', id: 'id INT AUTO_INCREMENT PRIMARY KEY', bool: 'TINYINT(1)' },
];

for (const b of BACKENDS) {
describe(`${b.label} authentication and authorization`, () => {
  let db: Db | undefined;
  let node: TestNode;

  before(async () => {
    if (!b.installed()) return;
    db = await b.start();
    const setup = [
      `CREATE TABLE mqtt_user (${b.id}, username varchar(100) UNIQUE, password_hash text, salt text, is_superuser ${b.bool})`,
      `INSERT INTO mqtt_user (username, password_hash, salt, is_superuser) VALUES ('alice', '${hashed('s4lt', 'alice-pw')}', 's4lt', false), ('root', '${hashed('x', 'root-pw')}', 'x', true)`,
      `CREATE TABLE mqtt_acl (${b.id}, username text, permission text, action text, topic text, qos text, retain text)`,
      `INSERT INTO mqtt_acl (username, permission, action, topic, qos) VALUES
        ('alice', 'deny', 'publish', 'devices/alice/secret', NULL),
        ('alice', 'allow', 'publish', 'devices/\${username}/#', NULL),
        ('alice', 'allow', 'subscribe', 'cmd/alice', '0,1'),
        ('alice', 'maybe', 'publish', 'odd/#', NULL)`,
    ];
    for (const q of setup) db.sql(b.name === 'mysql' ? `USE mqtt; ${q}` : q);
    node = await createTestNode(undefined, {
      name: `auth${b.name}@127.0.0.1`,
      mqtt: true,
      conf: `authentication = [{
  mechanism = password_based, backend = ${b.name}
  server = "127.0.0.1:${db.port}", ${b.login}, password = "${DB_PW}"
  query = "SELECT password_hash, salt, is_superuser FROM mqtt_user WHERE username = \${username} LIMIT 1"
  password_hash_algorithm { name = sha256, salt_position = prefix }
}]
authorization {
  no_match = deny
  sources = [{
    type = ${b.name}, server = "127.0.0.1:${db.port}", ${b.login}, password = "${DB_PW}"
    query = "SELECT permission, action, topic, qos, retain FROM mqtt_acl WHERE username = \${username} ORDER BY id"
  }]
}`,
    });
    await node.startOk();
  });

  after(async () => {
    RawClient.destroyAll();
    await node?.cleanup();
    await db?.stop();
  });

  const needDb = (t: TestContext): boolean => {
    if (db) return true;
    skipOrFail(t, `${b.label} (Debian package ${b.package})`);
    return false;
  };
  const conn = async (username: string, password: string): Promise<number> => {
    const r = await connackCode(node.mqttPort!, 5, `c-${uniq()}`, { username, password: Buffer.from(password) });
    r.raw.destroy();
    return r.rc;
  };

  test("users from the query: the right password connects; a wrong one, an unknown user and SQL in the user name do not", async (t) => {
    if (!needDb(t)) return;
    assert.equal(await conn('alice', 'alice-pw'), 0);
    assert.equal(await conn('alice', 'wrong'), 0x86);
    assert.notEqual(await conn('nobody', 'x'), 0);
    // Sent as a parameter: a user name that would be SQL finds no row.
    assert.notEqual(await conn("x' OR '1'='1", 'alice-pw'), 0);
  });

  test("the user's rows decide in their order; a superuser is not checked", async (t) => {
    if (!needDb(t)) return;
    const alice = await rawSession(node.mqttPort!, 5, `a-${uniq()}`, { username: 'alice', password: Buffer.from('alice-pw') });
    assert.ok((await pubackCode(alice, 'devices/alice/temp')) < 0x80);
    assert.equal(await pubackCode(alice, 'devices/alice/secret'), 0x87, 'the deny row comes first');
    assert.equal(await pubackCode(alice, 'devices/bob/temp'), 0x87, 'no row: no_match = deny');
    assert.deepEqual(await subackCodes(alice, ['cmd/alice'], 1), [1]);
    assert.deepEqual(await subackCodes(alice, ['cmd/alice'], 2), [0x87], "qos '0,1'");
    assert.equal(await pubackCode(alice, 'odd/x'), 0x87, 'a row that is not a rule allows nothing');
    await poll(() => (node.logText().includes(`authorization: the ${b.name} source decided nothing: rows skipped`) ? true : undefined), 5000, 'the skipped row in the log');
    const root = await rawSession(node.mqttPort!, 5, `r-${uniq()}`, { username: 'root', password: Buffer.from('root-pw') });
    assert.deepEqual(await subackCodes(root, ['anything/#']), [1]);
    alice.destroy();
    root.destroy();
  });

  test('the database down: checks fall through and the node keeps serving', async (t) => {
    if (!needDb(t)) return;
    const alice = await rawSession(node.mqttPort!, 5, `d-${uniq()}`, { username: 'alice', password: Buffer.from('alice-pw') });
    await db!.stop();
    const t0 = Date.now();
    assert.equal(await pubackCode(alice, 'devices/alice/uncached'), 0x87, 'no answer: no_match = deny');
    assert.ok(Date.now() - t0 < 6000, `answered in ${Date.now() - t0} ms`);
    assert.notEqual(await conn('alice', 'alice-pw'), 0);
    assert.equal((await node.ctl(['status'])).code, 0);
    assert.match(node.logText(), new RegExp(`authentication: ${b.name} decided nothing: the query failed: ${b.name === 'mysql' ? 'MySQL' : 'PostgreSQL'} at 127\\.0\\.0\\.1:\\d+`));
    alice.destroy();
  });
});
}
