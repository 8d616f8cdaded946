import { timestamp } from 'drizzle-orm/pg-core';

/** The timestamps every table keeps, as text (see `iso` in src/db/client.ts). */
export const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();
