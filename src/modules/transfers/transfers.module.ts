import type { StockActors } from '../../actors/stock-actors.ts';
import type { Sql } from '../../db/client.ts';
import { TransferSteps } from './transfer-steps.ts';
import { TransfersService } from './transfers.service.ts';

export type TransfersModuleDeps = { sql: Sql; actors: StockActors };

/** Stock moving between locations: the module owns `transfers` and joins the products' stock transactions to write it. No jobs. */
export function createTransfersModule({ sql, actors }: TransfersModuleDeps) {
  const steps = new TransferSteps();
  return { service: new TransfersService(sql, actors, steps), steps };
}
