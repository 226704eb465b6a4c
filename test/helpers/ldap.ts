// A real OpenLDAP server (Debian slapd) on a loopback port with its own config and database in a
// temp directory (the standard core, cosine and inetorgperson schemas, and an auxiliary class
// mqttUser with the topic attributes EMQX's LDAP authorization reads), suffix dc=emqx,dc=io and
// an admin cn=root,dc=emqx,dc=io. `add` loads LDIF through ldapadd. Stopped by its PID.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './launcher.js';
import { startServer } from './server-process.js';

const SLAPD = '/usr/sbin/slapd';
const LDAPADD = '/usr/bin/ldapadd';
const SLAPPASSWD = '/usr/sbin/slappasswd';
export const LDAP_SUFFIX = 'dc=emqx,dc=io';
export const LDAP_ADMIN = `cn=root,${LDAP_SUFFIX}`;

export function ldapInstalled(): boolean {
  return [SLAPD, LDAPADD, SLAPPASSWD].every((f) => existsSync(f)) && existsSync('/etc/ldap/schema/inetorgperson.schema');
}

/** `{SSHA}...` for a password, as slappasswd makes it. */
export function sshaOf(password: string): string {
  const r = spawnSync(SLAPPASSWD, ['-h', '{SSHA}', '-s', password], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`slappasswd: ${r.stderr}`);
  return r.stdout.trim();
}

/** Under a UUID-derived arc (2.25.<uuid>), which needs no registration. */
const OID = '2.25.323579572709239047592045538366322610971';
const topicAttr = (n: number, name: string, what: string): string =>
  `attributetype ( ${OID}.1.${n} NAME '${name}' DESC '${what}' EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )`;
const MQTT_SCHEMA = [
  topicAttr(1, 'mqttPublishTopic', 'a topic filter the client may publish to'),
  topicAttr(2, 'mqttSubscriptionTopic', 'a topic filter the client may subscribe to'),
  topicAttr(3, 'mqttPubSubTopic', 'a topic filter the client may publish and subscribe to'),
  `objectclass ( ${OID}.2.1 NAME 'mqttUser' AUXILIARY MAY ( mqttPublishTopic $ mqttSubscriptionTopic $ mqttPubSubTopic ) )`,
  '',
].join('\n');

export interface LdapServer {
  readonly pid: number;
  readonly port: number;
  add(ldif: string): void;
  stop(): Promise<void>;
}

export async function startLdap(adminPassword: string): Promise<LdapServer> {
  const dir = mkdtempSync(join(tmpdir(), 'slapd-'));
  mkdirSync(join(dir, 'db'));
  const conf = join(dir, 'slapd.conf');
  writeFileSync(join(dir, 'mqtt.schema'), MQTT_SCHEMA);
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      `include ${join(dir, 'mqtt.schema')}`,
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'database mdb',
      `suffix "${LDAP_SUFFIX}"`,
      `rootdn "${LDAP_ADMIN}"`,
      `rootpw ${adminPassword}`,
      `directory ${join(dir, 'db')}`,
      'maxsize 10485760',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}/`;
  const add = (ldif: string): void => {
    const r = spawnSync(LDAPADD, ['-x', '-H', url, '-D', LDAP_ADMIN, '-w', adminPassword], { input: ldif, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ldapadd: ${r.stderr}${r.stdout}`);
  };
  const { child, stop } = await startServer({
    what: `slapd on port ${port}`,
    cmd: SLAPD,
    // -d 0: stay in the foreground (stopped by PID), logging nothing.
    args: ['-f', conf, '-h', url, '-d', '0'],
    // Ready once it takes the suffix's entry.
    ready: () => {
      add(`dn: ${LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: emqx\no: emqx\n`);
      return true;
    },
    timeoutMs: 10_000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { pid: child.pid!, port, add, stop };
}
