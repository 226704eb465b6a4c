// The certificate and key files a configuration names anywhere (`ssl_options.certfile`, `keyfile`,
// `cacertfile` of listeners, the dashboard, etcd, authentication and authorization backends): the
// config watcher hashes them, so a certificate renewed on disk (certbot, cert-manager, a copy
// over the old file) triggers a reload like an edit of emqx.conf, without `emqx ctl conf reload`
// (EMQX needs `emqx ctl pem_cache clean`). The MQTT listeners and the dashboard's https listener
// carry their files' contents (or a digest) in the Config, so the reload sees the renewal as a
// change and applies it. Pure.

const FILE_KEYS = new Set(['certfile', 'keyfile', 'cacertfile']);
/** Deep enough for every section of the schema; a bound, not a limit that is ever met. */
const MAX_DEPTH = 12;

export function tlsFilesOf(config: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > MAX_DEPTH || ArrayBuffer.isView(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (FILE_KEYS.has(k) && typeof x === 'string' && x !== '') out.add(x);
      else walk(x, depth + 1);
    }
  };
  walk(config, 0);
  return [...out];
}
