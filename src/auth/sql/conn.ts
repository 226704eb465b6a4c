// What an SQL authenticator or source asks of its database's pool (auth/sql/postgres.ts, mysql.ts).

/** How long one query may take, the wait for a pooled connection included. */
export const QUERY_TIMEOUT_MS = 5000;

export interface SqlConn {
  /** The rows of one query, each by column name; rejects with the database's reason. */
  query(text: string, params: readonly (string | null)[]): Promise<Array<Record<string, unknown>>>;
  close(): void;
}
