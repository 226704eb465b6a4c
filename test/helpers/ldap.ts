// A real OpenLDAP server (Debian slapd) on a loopback port with its own config and database in a
// temp directory (the standard core, cosine and inetorgperson schemas), suffix dc=emqx,dc=io and
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
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
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
