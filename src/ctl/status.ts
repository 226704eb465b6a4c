// `emqx ctl status`: EMQX's first line (`Node 'emqx@127.0.0.1' 5.8.0 is started`) plus the uptime.
import type { CtlCommand } from './types.js';

/** `1 days, 2 hours, 3 minutes, 4 seconds`, leading zero units dropped (EMQX 4's wording). */
export function formatUptime(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const parts: string[] = [];
  if (days > 0) parts.push(`${days} days`);
  if (days > 0 || hours > 0) parts.push(`${hours} hours`);
  if (days > 0 || hours > 0 || minutes > 0) parts.push(`${minutes} minutes`);
  parts.push(`${s} seconds`);
  return parts.join(', ');
}

/** Erlang prints a node name atom quoted: 'emqx@127.0.0.1'. */
export function quoteAtom(name: string): string {
  return `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function statusCommand(info: { nodeName: string; version: string; startedAt: number; now?: () => number }): CtlCommand {
  return {
    name: 'status',
    usage: [['status', 'Show broker status']],
    run: () => ({
      code: 0,
      output: `Node ${quoteAtom(info.nodeName)} ${info.version} is started\nUptime: ${formatUptime((info.now ?? Date.now)() - info.startedAt)}\n`,
    }),
  };
}
