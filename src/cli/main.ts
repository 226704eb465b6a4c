// Entry point of bin/emqx (and of the Node.js fallback of bin/emqx_ctl): `emqx <command> [args]`.
// Commands are loaded on demand: `ping` and `ctl` must not pay for what `start` needs.
import { fileURLToPath } from 'node:url';

// build/cli/main.js and src/cli/main.ts both sit two levels below the install root.
const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...args] = argv;
  const env = process.env;
  switch (cmd) {
    case 'start':
      return (await import('./start.js')).startCommand(root, env, process.argv.slice(1, 2));
    case 'stop':
      return (await import('./remote.js')).stopCommand(root, env);
    case 'restart': {
      const remote = await import('./remote.js');
      const { socketIsLive } = await import('../ctl/server.js');
      const target = (await import('./target.js')).resolveTarget(root, env);
      if (!target) return 1;
      if (await socketIsLive(target.socketPath)) {
        const code = await remote.stopCommand(root, env, { quiet: true });
        if (code !== 0) return code;
      }
      return (await import('./start.js')).startCommand(root, env, process.argv.slice(1, 2));
    }
    case 'console':
    case 'foreground':
      return (await import('../daemon/run.js')).runNode({ root, env, mode: cmd });
    case '__daemon': {
      const fd = Number(args[args.indexOf('--ready-fd') + 1]);
      return (await import('../daemon/run.js')).runNode({ root, env, mode: 'daemon', readyFd: Number.isInteger(fd) && fd > 2 ? fd : undefined });
    }
    case 'ping':
      return (await import('./remote.js')).pingCommand(root, env);
    case 'pid':
      return (await import('./remote.js')).pidCommand(root, env);
    case 'ctl':
      return (await import('./remote.js')).ctlCommand(root, env, args);
    case 'check_config':
      return (await import('./check-config.js')).checkConfigCommand(args, env, root);
    case 'hocon':
      return (await import('./check-config.js')).hoconCommand(args, root);
    case 'versions': {
      const { versionsText } = await import('./help.js');
      process.stdout.write(versionsText((await import('../daemon/version.js')).readVersion(root)));
      return 0;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write((await import('./help.js')).HELP_TEXT);
      return 0;
    default: {
      const { HELP_TEXT } = await import('./help.js');
      if (cmd !== undefined) process.stderr.write(`Unknown command: ${cmd}\n`);
      process.stdout.write(HELP_TEXT);
      return 1;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Never a stack trace for the operator; the message says what went wrong.
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
