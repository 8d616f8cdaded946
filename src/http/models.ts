import { Kind, Type, TypeRegistry, type IntegerOptions } from '@sinclair/typebox';
import { t, type TSchema } from 'elysia';
import { AppError } from './errors.ts';
import { textProblem } from './input.ts';

/** Shared request/response models; each module keeps its own beside its routes. */

/**
 * A JSON integer, strictly (Elysia's `t.Integer` also takes numeric strings, which query strings
 * need and JSON bodies should not accept).
 */
export const Int = (options?: IntegerOptions) => Type.Integer(options);
export const Uuid = t.String({ format: 'uuid', description: 'Server-assigned id' });
export const IdParams = t.Object({ id: Uuid });

/** A decimal string as `numeric(precision, 2)` holds it: what a client may send as a price, and what any stored amount reads back as. */
const money = (integerDigits: number) =>
  t.String({
    pattern: `^(0|[1-9][0-9]{0,${integerDigits - 1}})(\\.[0-9]{1,2})?$`,
    description: `Decimal string with up to ${integerDigits} digits before the point and two after, e.g. "19.99"`,
    examples: ['19.99'],
  });
/** Prices: `numeric(12,2)`. */
export const Money = money(10);
/** Order totals: `numeric(14,2)` (a line is a price times up to 10,000 units). */
export const TotalMoney = money(12);

/** PostgreSQL `integer`: stock counts and deltas in a request stay inside it. */
export const PG_INT_MAX = 2_147_483_647;
/** PostgreSQL `bigint` (ids of movements and events). */
export const PG_BIGINT_MAX = 9_223_372_036_854_775_807n;

/**
 * An integer in a query string, checked as the client sent it. Elysia's `t.Integer` checks the
 * range only after converting the string and then reports the field as "property"; this kind checks
 * the text and the range together, so the error names `query.<field>` and the rule.
 */
type QueryIntOptions = { minimum: number; maximum: number; default?: number; description?: string };
const DECIMAL_INT = /^-?(0|[1-9][0-9]{0,15})$/;
TypeRegistry.Set<QueryIntOptions>('QueryInteger', (schema, value) => {
  const n = typeof value === 'string' && DECIMAL_INT.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= schema.minimum && n <= schema.maximum;
});
export const QueryInt = (options: QueryIntOptions) =>
  // Typed as a number on both sides; on the wire it is the query string's text, hence `Number()`.
  Type.Transform(Type.Unsafe<number>({ ...options, type: 'integer', [Kind]: 'QueryInteger' }))
    .Decode((value) => Number(value))
    .Encode((value: number) => value);

export const Timestamp = t.String({ format: 'date-time' });

export const FieldErrorModel = t.Object({ path: t.String(), message: t.String() });
export const ProblemModel = t.Object(
  {
    type: t.String(),
    title: t.String(),
    status: Int(),
    detail: t.String(),
    errors: t.Optional(t.Array(FieldErrorModel)),
  },
  { description: 'RFC 9457 problem details (application/problem+json)', additionalProperties: true },
);

export const PageQuery = {
  limit: t.Optional(QueryInt({ minimum: 1, maximum: 200, default: 50, description: 'Page size, 1..200' })),
  cursor: t.Optional(t.String({ maxLength: 200, description: 'Opaque cursor from the previous page' })),
};

export function Page<T extends TSchema>(item: T) {
  return t.Object({ items: t.Array(item), nextCursor: t.Union([t.String(), t.Null()]) });
}

/** Error responses to document on a route, by status. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, ProblemModel])) as Record<number, typeof ProblemModel>;
}

/** Always two decimal places: "5" → "5.00", "5.5" → "5.50". */
export function normalizeMoney(value: string): string {
  const [whole, fraction = ''] = value.split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}

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
