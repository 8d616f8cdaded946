import type { PaymentReconciler } from '../modules/orders/reconcile.ts';
import type { Job } from './job.ts';

/** Refunds charges that landed on orders that did not go through; clears what needs nothing. */
export const paymentReconcileJob = (reconciler: PaymentReconciler, schedule: string): Job => ({
  name: 'payment-reconcile',
  schedule,
  run: async (asOf) => ({ settled: await reconciler.sweep(asOf) }),
});
