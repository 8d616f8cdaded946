import type { Executor, Sql } from '../../db/client.ts';

/**
 * The stock model this code speaks. 2: locations (migration 0007); processes of the version before
 * leave it null, and while one of them still beats, stock must stay at the default location, the
 * only one that code knows. 3: every change of what a stock batch decides on moves the level's
 * version (a price too), and every batch's write is fenced on it; while a process of a model
 * before 3 still beats, no batch is decided from memory (its changes would not all be seen).
 */
export const STOCK_MODEL = 3;

/** Whether a process of a stock model before this one still beats (within `ttlMs`), as a column of what a statement returns. */
const olderAlive = (sql: Executor, ttlMs: number) => sql`
  (SELECT EXISTS (SELECT 1 FROM nodes WHERE coalesce(stock_model, 0) < ${STOCK_MODEL}
                                        AND heartbeat_at > now() - ${ttlMs} * interval '1 millisecond')) AS "olderAlive"`;

/**
 * This incarnation joins; earlier incarnations of the same node are gone (their leases void at
 * once). Answers what a heartbeat does.
 */
export async function registerNode(sql: Sql, node: { incarnation: string; nodeId: string }, ttlMs: number): Promise<{ olderAlive: boolean }> {
  return sql.begin(async (tx) => {
    await tx`DELETE FROM nodes WHERE node_id = ${node.nodeId}`;
    const [row] = await tx<{ olderAlive: boolean }[]>`
      INSERT INTO nodes (incarnation, node_id, stock_model) VALUES (${node.incarnation}, ${node.nodeId}, ${STOCK_MODEL})
      RETURNING ${olderAlive(tx, ttlMs)}`;
    return row!;
  });
}

/**
 * The heartbeat (the row comes back if something removed it), and whether a process of a stock
 * model before this one still beats (within `ttlMs`).
 */
export async function beat(sql: Executor, node: { incarnation: string; nodeId: string }, ttlMs: number): Promise<{ olderAlive: boolean }> {
  const [row] = await sql<{ olderAlive: boolean }[]>`
    INSERT INTO nodes (incarnation, node_id, stock_model) VALUES (${node.incarnation}, ${node.nodeId}, ${STOCK_MODEL})
    ON CONFLICT (incarnation) DO UPDATE SET heartbeat_at = now()
    RETURNING ${olderAlive(sql, ttlMs)}`;
  return row!;
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
