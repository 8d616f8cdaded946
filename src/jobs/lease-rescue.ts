import type { OrderWorker } from '../modules/orders/worker.ts';
import type { Job } from './job.ts';

/** Takes over orders whose lease expired or whose owner stopped sending heartbeats. */
export const leaseRescueJob = (worker: OrderWorker, schedule: string): Job => ({
  name: 'lease-rescue',
  schedule,
  run: async (asOf) => ({ rescued: await worker.sweep(asOf, 'abandoned') }),
});
