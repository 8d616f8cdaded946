import type { OrderRecovery } from '../modules/orders/recovery.ts';
import type { Job } from './job.ts';

/** Takes over orders whose lease expired or whose owner stopped sending heartbeats. */
export const leaseRescueJob = (recovery: OrderRecovery, schedule: string): Job => ({
  name: 'lease-rescue',
  schedule,
  run: async (asOf) => ({ rescued: await recovery.sweep(asOf, 'abandoned') }),
});
