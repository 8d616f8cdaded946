import type { Executor, Sql } from '../../db/client.ts';

/** This incarnation joins; earlier incarnations of the same node are gone (their leases void at once). */
export async function registerNode(sql: Sql, node: { incarnation: string; nodeId: string }): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`DELETE FROM nodes WHERE node_id = ${node.nodeId}`;
    await tx`INSERT INTO nodes (incarnation, node_id) VALUES (${node.incarnation}, ${node.nodeId})`;
  });
}

/** The heartbeat (the row comes back if something removed it). */
export async function beat(sql: Executor, node: { incarnation: string; nodeId: string }): Promise<void> {
  await sql`
    INSERT INTO nodes (incarnation, node_id) VALUES (${node.incarnation}, ${node.nodeId})
    ON CONFLICT (incarnation) DO UPDATE SET heartbeat_at = now()`;
}

export async function deregisterNode(sql: Executor, incarnation: string): Promise<void> {
  await sql`DELETE FROM nodes WHERE incarnation = ${incarnation}`;
}
