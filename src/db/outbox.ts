/**
 * The transactional outbox's record format, as writers write it: one row per committed
 * transaction, holding a snapshot of each thing that changed. src/modules/events/records.ts
 * describes the parts and turns rows back into events.
 */
export const OUTBOX_FORMAT = 2;

/** The changes of one transaction as the text of its outbox row; null when it changed nothing a reader hears of. */
export function outboxText(changes: Record<string, unknown>): string | null {
  const present = Object.entries(changes).filter(([, value]) => value !== undefined && value !== null && (!Array.isArray(value) || value.length > 0));
  return present.length === 0 ? null : JSON.stringify({ v: OUTBOX_FORMAT, ...Object.fromEntries(present) });
}
