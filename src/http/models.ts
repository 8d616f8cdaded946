import { Kind, Type, TypeRegistry, type IntegerOptions } from '@sinclair/typebox';
import { t, type TSchema } from 'elysia';

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
