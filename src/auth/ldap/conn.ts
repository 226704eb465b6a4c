// The connection of an LDAP authenticator to its directory (ldapts, loaded by the first one
// configured): searches run on one connection bound as the configured `username`, made at the
// first search and made again after it fails; a bind as a user (method = bind) uses a connection
// of its own, closed after. Every operation is bounded by the query timeout.
import { readFileSync } from 'node:fs';
import type { Client, Entry } from 'ldapts';
import type { LdapConnConfig } from '../../config/types.js';

const load = () => import('ldapts');
let ldapts: ReturnType<typeof load> | undefined;

export class LdapConn {
  readonly #url: string;
  readonly #tls: { rejectUnauthorized: boolean; ca?: Buffer; servername?: string } | undefined;
  #admin: Promise<Client> | undefined;
  #closed = false;

  /** Reads the CA file now (throws when it cannot be read); connects at the first search. */
  constructor(private readonly cfg: LdapConnConfig) {
    const { host, port } = cfg.server;
    this.#url = `${cfg.ssl ? 'ldaps' : 'ldap'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const ca = cfg.ssl?.cacertfile ? readFileSync(cfg.ssl.cacertfile) : undefined;
    this.#tls = cfg.ssl ? { rejectUnauthorized: cfg.ssl.verify, ...(ca ? { ca } : {}), ...(cfg.ssl.server_name_indication ? { servername: cfg.ssl.server_name_indication } : {}) } : undefined;
  }

  async #client(): Promise<Client> {
    const { Client } = await (ldapts ??= load());
    return new Client({ url: this.#url, timeout: this.cfg.query_timeout, connectTimeout: this.cfg.query_timeout, ...(this.#tls ? { tlsOptions: this.#tls } : {}) });
  }

  async #bound(): Promise<Client> {
    const c = await this.#client();
    await c.bind(this.cfg.username, this.cfg.password ?? '');
    return c;
  }

  /** Entries under `base` matching `filter`, with these attributes. */
  async search(base: string, filter: string, attributes: readonly string[]): Promise<Entry[]> {
    if (this.#closed) throw new Error('the authenticator was replaced by a reload');
    const admin = (this.#admin ??= this.#bound());
    try {
      const c = await admin;
      return (await c.search(base, { scope: 'sub', filter, attributes: [...attributes] })).searchEntries;
    } catch (err) {
      // The next search connects again (the directory restarted, the connection dropped).
      if (this.#admin === admin) this.#admin = undefined;
      void admin.then((c) => c.unbind()).catch(() => undefined);
      throw new Error(`LDAP at ${this.#url}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Whether `dn` binds with `password` (false: invalid credentials; other failures throw). */
  async bindAs(dn: string, password: string): Promise<boolean> {
    const c = await this.#client();
    try {
      await c.bind(dn, password);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 49) return false; // invalidCredentials
      throw new Error(`LDAP at ${this.#url}: ${(err as Error).message}`, { cause: err });
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  close(): void {
    this.#closed = true;
    void this.#admin?.then((c) => c.unbind()).catch(() => undefined);
    this.#admin = undefined;
  }
}
