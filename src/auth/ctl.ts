// `emqx ctl banned`, `emqx ctl users` and `emqx ctl acl`: banned clients, the built_in_database
// users and the acl.conf files. EMQX 5 has no such commands (its dashboard and API do this);
// the output follows EMQX's other commands: `ok`, `Error: <reason>`, usage on a bad call.
import { readFileSync } from 'node:fs';
import { formatUsage } from '../ctl/registry.js';
import type { CtlCommand, CtlResult } from '../ctl/types.js';
import { parseDuration } from '../config/duration.js';
import { BAN_KINDS, BanError, type Ban, type BanKind, type Banned } from './banned/banned.js';
import { UserError } from './authn/users.js';
import { ImportError } from './authn/user-import.js';
import type { AuthService } from './service.js';

const fail = (reason: string): CtlResult => ({ code: 1, output: `Error: ${reason}\n` });

export function formatBan(b: Ban): string {
  const until = b.until === undefined ? 'infinity' : new Date(b.until * 1000).toISOString();
  return `${b.as}:${b.who} by=${b.by} reason=${JSON.stringify(b.reason)} at=${new Date(b.at * 1000).toISOString()} until=${until}\n`;
}

const BANNED_USAGE: CtlCommand['usage'] = [
  ['banned list', 'List banned clients (clientid, username, peerhost)'],
  ['banned add <clientid|username|peerhost> <Who> [<Duration>|infinity] [<Reason>]', 'Ban a client on every node (default duration 1h; peerhost may be a CIDR range)'],
  ['banned del <clientid|username|peerhost> <Who>', 'Lift a ban'],
];

export function bannedCommand(banned: Banned): CtlCommand {
  return {
    name: 'banned',
    usage: BANNED_USAGE,
    async run(args) {
      const [verb, as, who, duration, ...reason] = args;
      try {
        if (verb === 'list' && args.length === 1) {
          const all = banned.list();
          return { code: 0, output: all.length === 0 ? 'No banned clients.\n' : all.map(formatBan).join('') };
        }
        if (verb === 'add' && as !== undefined && who !== undefined) {
          if (!BAN_KINDS.includes(as as BanKind)) return fail(`'${as}' is not one of ${BAN_KINDS.join(', ')}`);
          const at = Math.floor(Date.now() / 1000);
          let until: number | undefined = at + 3600;
          if (duration !== undefined && duration !== 'infinity') {
            const d = parseDuration(duration, 1000);
            if (!d.ok || d.value <= 0) return fail(`'${duration}' is not a duration (e.g. 10m, 1h, 7d) or infinity`);
            until = at + Math.ceil(d.value / 1000);
          } else if (duration === 'infinity') until = undefined;
          await banned.add({ as: as as BanKind, who, by: 'emqx_ctl', reason: reason.join(' '), at, ...(until !== undefined ? { until } : {}) });
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'del' && as !== undefined && who !== undefined && args.length === 3) {
          if (!BAN_KINDS.includes(as as BanKind)) return fail(`'${as}' is not one of ${BAN_KINDS.join(', ')}`);
          return (await banned.del(as as BanKind, who)) ? { code: 0, output: 'ok\n' } : fail('not_found');
        }
      } catch (err) {
        if (err instanceof BanError) return fail(err.message);
        throw err;
      }
      return { code: 1, output: formatUsage(BANNED_USAGE) };
    },
  };
}

const USERS_USAGE: CtlCommand['usage'] = [
  ['users list', 'List the users of the built_in_database authenticator'],
  ['users add <UserId> <Password> [superuser]', 'Add a user (on every node)'],
  ['users passwd <UserId> <Password>', 'Change a user\'s password'],
  ['users del <UserId>', 'Delete a user'],
  ['users import <File.csv|File.json> [plain|hash]', "Import users from EMQX's CSV or JSON file (existing users replaced)"],
];

export function usersCommand(auth: AuthService): CtlCommand {
  return {
    name: 'users',
    usage: USERS_USAGE,
    async run(args) {
      const [verb, a, b, c] = args;
      try {
        if (verb === 'list' && args.length === 1) {
          const users = auth.users.list();
          return { code: 0, output: users.length === 0 ? 'No users.\n' : users.map((u) => `${u.user_id}${u.is_superuser ? ' (superuser)' : ''}\n`).join('') };
        }
        if (verb === 'add' && a !== undefined && b !== undefined && (c === undefined || c === 'superuser') && args.length <= 4) {
          await auth.users.add(a, b, c === 'superuser');
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'passwd' && a !== undefined && b !== undefined && args.length === 3) {
          await auth.users.update(a, { password: b });
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'del' && a !== undefined && args.length === 2) {
          await auth.users.del(a);
          return { code: 0, output: 'ok\n' };
        }
        if (verb === 'import' && a !== undefined && (b === undefined || b === 'plain' || b === 'hash') && args.length <= 3) {
          let text: string;
          try {
            text = readFileSync(a, 'utf8');
          } catch (err) {
            return fail(`cannot read ${a}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
          }
          const r = await auth.importFile(a, text, b ?? 'plain', true);
          return { code: 0, output: `total=${r.total} success=${r.success} override=${r.override} skipped=${r.skipped} failed=${r.failed}\n` };
        }
      } catch (err) {
        if (err instanceof UserError || err instanceof ImportError) return fail(err.message);
        throw err;
      }
      return { code: 1, output: formatUsage(USERS_USAGE) };
    },
  };
}

const ACL_USAGE: CtlCommand['usage'] = [
  ['acl reload', 'Read the acl.conf files of authorization.sources again'],
  ['acl show', 'The file sources and their rule counts'],
];

export function aclCommand(auth: AuthService): CtlCommand {
  return {
    name: 'acl',
    usage: ACL_USAGE,
    run(args) {
      if (args.length === 1 && args[0] === 'reload') {
        const r = auth.reloadAclFiles();
        if (!r.ok) return { code: 1, output: `Error: ${r.error}\n` };
        return { code: 0, output: r.files.map((f) => `${f.path}: ${f.rules} rules\n`).join('') || 'No file source.\n' };
      }
      if (args.length === 1 && args[0] === 'show') {
        const files = auth.aclFiles();
        return { code: 0, output: files.map((f) => `${f.path}: ${f.rules} rules\n`).join('') || 'No file source.\n' };
      }
      return { code: 1, output: formatUsage(ACL_USAGE) };
    },
  };
}
