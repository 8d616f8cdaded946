import fc from 'fast-check';

/** The subset of JSON Schema that `/swagger/json` uses for parameters and bodies. */
export type JsonSchema = {
  type?: string;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/** Ids the generators draw from, by what they name: rows that exist, so requests get past "not found". */
export type IdPool = { products: string[]; categories: string[]; orders: string[] };

/** The ids a field or path segment most likely means, from its name ("productId", "categoryIds", "orders/{id}"). */
function idsFor(pool: IdPool, name: string): string[] {
  if (/product/i.test(name)) return pool.products;
  if (/categor/i.test(name)) return pool.categories;
  if (/order/i.test(name)) return pool.orders;
  return [...pool.products, ...pool.categories, ...pool.orders];
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Values no schema should let through to the database, and the edges of what it should. */
const HOSTILE_TEXT = ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', 'pair\ud83d', '', ' ', '\t\n', '%00', "'; DROP TABLE products; --", '\u202e', '\uffff', 'null', '1e9', 'é'];
const HOSTILE_NUMBERS = [1.5, -1, 0, 2147483648, -2147483649, 9007199254740993, 1e308, -1e308, 1e21, 5e-324, -0, 1_000_000_001];
const CRAFTED_IDS = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '01900000-0000-7000-8000-00000000000g', '1', "' OR 1=1 --"];
export const CRAFTED_CURSORS = [
  b64(['a', 'not-a-uuid']),
  b64(['9999999999999999999']),
  b64(['9223372036854775808']),
  b64(['\u0000']),
  b64(['\ud800', '01900000-0000-7000-8000-000000000000']),
  b64([1, 2, 3]),
  b64({}),
  b64('x'.repeat(100)),
  '!!!',
  '',
  '%ED%A0%80',
];
export const CRAFTED_EVENT_IDS = ['1-9223372036854775808-1', '18446744073709551616-1-1', '99999999999999999999-1-1', '1-1-1', '0-0-0', '1-1-9999999', 'x', '-1-1-1'];

const nested = (depth: number): unknown => (depth <= 0 ? 1 : [nested(depth - 1)]);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_TEXT), weight: 3 },
  { arbitrary: fc.constantFrom(...HOSTILE_NUMBERS), weight: 2 },
  { arbitrary: fc.constantFrom(true, false, null, {}, [], { nested: { object: true } }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'y'.repeat(n)), weight: 1 },
  { arbitrary: fc.integer({ min: 2, max: 40 }).map(nested), weight: 1 },
  { arbitrary: fc.constantFrom(...CRAFTED_IDS, ...CRAFTED_CURSORS), weight: 1 },
);


function validString(schema: JsonSchema, pool: IdPool, name: string): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.oneof({ arbitrary: fc.constantFrom(...idsFor(pool, name)), weight: 6 }, { arbitrary: fc.uuid(), weight: 1 });
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, 40);
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  }
  return fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.max(min, max) });
}

/** A value the schema accepts, most of the time (patterns and ranges as documented). `name` says what it is called. */
export function validValue(schema: JsonSchema, pool: IdPool, hostileRate: number, name = ''): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => validValue(s, pool, hostileRate, name)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const child = (s: JsonSchema, childName = name) => anyValue(s, pool, hostileRate, childName);
  switch (schema.type) {
    case 'string':
      return validString(schema, pool, name);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(child(schema.items ?? {}), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3), size: 'xsmall' });
    case 'object': {
      const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, s]) => [key, child(s, key)]));
      return fc.record(properties, { requiredKeys: schema.required ?? [] });
    }
    default:
      return hostileValue;
  }
}

/** Mostly valid, field by field; now and then a hostile value in any place. */
export function anyValue(schema: JsonSchema, pool: IdPool, hostileRate = 0.2, name = ''): fc.Arbitrary<unknown> {
  if (hostileRate === 0) return validValue(schema, pool, 0, name);
  const weight = Math.round(hostileRate * 100);
  return fc.oneof({ arbitrary: validValue(schema, pool, hostileRate, name), weight: 100 - weight }, { arbitrary: hostileValue, weight });
}
