import { AppError } from './errors.ts';
import { PG_BIGINT_MAX } from './bounds.ts';
import { textProblem } from './text.ts';

/**
 * One page of a list read with `limit + 1` rows: the extra row only says there is more, and the
 * cursor is the key of the last row shown.
 */
export function pageOf<R, T>(rows: R[], limit: number, view: (row: R) => T, key: (row: R) => unknown[]): { items: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { items: page.map(view), nextCursor: rows.length > limit ? encodeCursor(key(page.at(-1)!)) : null };
}

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T extends unknown[]>(cursor: string | undefined, check: (key: unknown[]) => key is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.every((part) => typeof part !== 'string' || textProblem(part) === undefined) && check(key)) return key;
  } catch {
    // fall through to the validation error
  }
  throw new AppError('validation', 'cursor is not one this server handed out', [{ path: 'query.cursor', message: 'is invalid' }]);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);
export const isUuidKey = (key: unknown[]): key is [string] => key.length === 1 && isUuid(key[0]);
/** A `bigint` id as text (19 digits can still be beyond its range). */
export const isBigintKey = (key: unknown[]): key is [string] =>
  key.length === 1 && typeof key[0] === 'string' && /^\d{1,19}$/.test(key[0]) && BigInt(key[0]) <= PG_BIGINT_MAX;
