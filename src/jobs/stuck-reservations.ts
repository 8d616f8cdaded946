import type { Job } from './job.ts';

/** Releases the stock of orders stuck in `reserved` past STUCK_RESERVATION_MS; they fail, and a charge is looked for. */
export const stuckReservationsJob = (release: (asOf?: Date) => Promise<number>, schedule: string): Job => ({
  name: 'stuck-reservations',
  schedule,
  run: async (asOf) => ({ released: await release(asOf) }),
});
