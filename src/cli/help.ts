// `emqx help` and `emqx versions`.
export const HELP_TEXT = `Usage: emqx COMMAND [help]

Commonly used COMMANDs:
  start:        Start EMQX in daemon mode
  console:      Start EMQX in the foreground with human-readable logs on the terminal
  foreground:   Start EMQX in the foreground with JSON logs on stdout
  stop:         Stop the running EMQX program
  restart:      Restart EMQX
  ping:         Check if the EMQX node is running ('pong' when it is)
  pid:          Print the process id of the running node
  ctl:          Administration commands, execute 'emqx ctl help' for more details
  check_config: Validate the configuration (etc/emqx.conf, EMQX_* variables, ssl_dist.conf) without starting
  hocon:        Show a HOCON file as JSON: 'emqx hocon FILE'
  versions:     Print the installed version
  help:         Show this message

Environment:
  EMQX_ETC_DIR, EMQX_NODE__NAME, EMQX_NODE__DATA_DIR, EMQX_LOG_DIR select the node, so many
  nodes can run from one install; every EMQX_<KEY> overrides a key of emqx.conf.
`;

export function versionsText(version: string): string {
  return `Installed versions:\n* ${version}\tpermanent\n`;
}
