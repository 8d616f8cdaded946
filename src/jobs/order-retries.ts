import type { OrderWorker } from '../modules/orders/worker.ts';
import type { Job } from './job.ts';

/** Resumes orders whose retry (stock or payment) is due and that nobody holds. */
export const orderRetriesJob = (worker: OrderWorker, schedule: string): Job => ({
  name: 'order-retries',
  schedule,
  run: async (asOf) => ({ resumed: await worker.sweep(asOf, 'due') }),
});
