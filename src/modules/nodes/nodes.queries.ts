import type { Executor, Sql } from '../../db/client.ts';

/**
 * The stock model this code speaks (locations, migration 0007). Processes of the previous version
 * leave it null: while one of them still beats, stock must stay at the default location, the
 * only one that code knows.
 */
export const STOCK_MODEL = 2;

/** This incarnation joins; earlier incarnations of the same node are gone (their leases void at once). */
export async function registerNode(sql: Sql, node: { incarnation: string; nodeId: string }): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`DELETE FROM nodes WHERE node_id = ${node.nodeId}`;
    await tx`INSERT INTO nodes (incarnation, node_id, stock_model) VALUES (${node.incarnation}, ${node.nodeId}, ${STOCK_MODEL})`;
  });
}

/** The heartbeat (the row comes back if something removed it). */
export async function beat(sql: Executor, node: { incarnation: string; nodeId: string }): Promise<void> {
  await sql`
    INSERT INTO nodes (incarnation, node_id, stock_model) VALUES (${node.incarnation}, ${node.nodeId}, ${STOCK_MODEL})
    ON CONFLICT (incarnation) DO UPDATE SET heartbeat_at = now()`;
}

/** Whether a process of the version before locations still beats (within `ttlMs`). */
export async function previousVersionAlive(sql: Executor, ttlMs: number): Promise<boolean> {
  const [row] = await sql<{ alive: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM nodes WHERE stock_model IS NULL AND heartbeat_at > now() - ${ttlMs} * interval '1 millisecond') AS alive`;
  return row!.alive;
}

export async function deregisterNode(sql: Executor, incarnation: string): Promise<void> {
  await sql`DELETE FROM nodes WHERE incarnation = ${incarnation}`;
}
