import type { OrderRecovery } from '../modules/orders/recovery.ts';
import type { Job } from './job.ts';

/** Resumes orders whose retry (stock or payment) is due and that nobody holds. */
export const orderRetriesJob = (recovery: OrderRecovery, schedule: string): Job => ({
  name: 'order-retries',
  schedule,
  run: async (asOf) => ({ resumed: await recovery.sweep(asOf, 'due') }),
});
