/**
 * The PostgreSQL tables of the transparency log (same SQL on PGlite and a
 * server). Entries, tree nodes and signed checkpoints are append-only,
 * enforced by triggers, and a log's size can only grow: rewriting history
 * takes a database owner who disables the triggers — which witnesses then catch.
 */
import type { SqlQueryable } from '../storage/sql.ts';

const DDL = `
CREATE TABLE IF NOT EXISTS trust_log (
  id serial PRIMARY KEY,
  origin text NOT NULL UNIQUE,
  size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
  root bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS trust_log_entry (
  log_id integer NOT NULL REFERENCES trust_log (id),
  idx bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (log_id, idx)
);
CREATE TABLE IF NOT EXISTS trust_log_node (
  log_id integer NOT NULL REFERENCES trust_log (id),
  level smallint NOT NULL,
  idx bigint NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (log_id, level, idx)
);
CREATE TABLE IF NOT EXISTS trust_checkpoint (
  log_id integer NOT NULL REFERENCES trust_log (id),
  size bigint NOT NULL,
  root bytea NOT NULL,
  note text NOT NULL,
  signed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (log_id, size)
);
CREATE OR REPLACE FUNCTION trust_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'trust log tables are append-only (% on %)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE OR REPLACE FUNCTION trust_size_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.size < OLD.size OR NEW.origin <> OLD.origin THEN
    RAISE EXCEPTION 'trust log size can only grow';
  END IF;
  RETURN NEW;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'trust_log_entry_append_only') THEN
    CREATE TRIGGER trust_log_entry_append_only BEFORE UPDATE OR DELETE ON trust_log_entry FOR EACH ROW EXECUTE FUNCTION trust_append_only();
    CREATE TRIGGER trust_log_node_append_only BEFORE UPDATE OR DELETE ON trust_log_node FOR EACH ROW EXECUTE FUNCTION trust_append_only();
    CREATE TRIGGER trust_checkpoint_append_only BEFORE UPDATE OR DELETE ON trust_checkpoint FOR EACH ROW EXECUTE FUNCTION trust_append_only();
    CREATE TRIGGER trust_log_size_grows BEFORE UPDATE ON trust_log FOR EACH ROW EXECUTE FUNCTION trust_size_grows();
  END IF;
END $$;
`;

/**
 * Creates the log tables if absent (idempotent; serialised by an advisory lock
 * so that processes sharing a server do not race).
 *
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses
 * @example
 * ```ts
 * await sql.transaction((tx) => migrate(tx));
 * ```
 */
export async function migrate(tx: SqlQueryable): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('hedge.trust.schema'))");
  for (const statement of splitStatements(DDL)) await tx.query(statement);
}

/** Splits the DDL on semicolons outside `$$` bodies. */
function splitStatements(ddl: string): string[] {
  const out: string[] = [];
  let current = '';
  let inBody = false;
  for (const part of ddl.split(/(\$\$|;)/)) {
    if (part === '$$') inBody = !inBody;
    if (part === ';' && !inBody) {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += part;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}
