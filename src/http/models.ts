import { Type, type IntegerOptions } from '@sinclair/typebox';
import { t, type TSchema } from 'elysia';
import { AppError } from './errors.ts';

/** Shared request/response models; each module keeps its own beside its routes. */

/**
 * A JSON integer, strictly (Elysia's `t.Integer` also takes numeric strings, which query strings
 * need and JSON bodies should not accept).
 */
export const Int = (options?: IntegerOptions) => Type.Integer(options);
export const Uuid = t.String({ format: 'uuid', description: 'Server-assigned id' });
export const IdParams = t.Object({ id: Uuid });

export const Money = t.String({
  pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$',
  description: 'Decimal string with up to two places, e.g. "19.99"',
  examples: ['19.99'],
});

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
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size, 1..200' })),
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

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T extends unknown[]>(cursor: string | undefined, check: (key: unknown[]) => key is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && check(key)) return key;
  } catch {
    // fall through to the validation error
  }
  throw new AppError('validation', 'cursor is not one this server handed out', [{ path: 'query.cursor', message: 'is invalid' }]);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);
export const isUuidKey = (key: unknown[]): key is [string] => key.length === 1 && isUuid(key[0]);
