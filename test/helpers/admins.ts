// Every node creates the dashboard's default user `admin` when its admins table is empty at
// first boot (as EMQX does). Tests about replicating the table compare the users they wrote.

const DEFAULT_ADMIN_LINE = /^Username: admin, Description: administrator\n/m;

/** `admins list` output without the default `admin` line. */
export function userAdmins(listOutput: string): string {
  return listOutput.replace(DEFAULT_ADMIN_LINE, '');
}
