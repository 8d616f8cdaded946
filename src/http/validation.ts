import type { ValidationError } from 'elysia';
import type { FieldError } from '../lib/errors.ts';

type Schema = {
  type?: string;
  anyOf?: Schema[];
  format?: string;
  pattern?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  enum?: unknown[];
  const?: unknown;
};

/** A sentence a client can act on, from the schema that failed (Elysia's own messages are terse). */
function describe(schema: Schema | undefined, value: unknown): string | undefined {
  if (!schema) return undefined;
  if (value === undefined) return 'is required';
  if (schema.anyOf) {
    // Elysia widens numbers and booleans in query strings to a union with their string form
    // (`{ type: 'string', format: 'integer' }`): the rule to state is the number's or boolean's.
    const consts = schema.anyOf.filter((s) => s.const !== undefined).map((s) => JSON.stringify(s.const));
    if (consts.length === schema.anyOf.length) return `must be one of ${consts.join(', ')}`;
    const rule = schema.anyOf.find((s) => s.type !== undefined && s.type !== 'string' && s.type !== 'null') ?? schema.anyOf.find((s) => s.format !== undefined);
    return describe(rule ?? schema.anyOf[0], value);
  }
  if (schema.enum) return `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const range = (min?: number, max?: number, unit = '') =>
    min !== undefined && max !== undefined ? ` from ${min} to ${max}${unit}` : min !== undefined ? ` of at least ${min}${unit}` : max !== undefined ? ` of at most ${max}${unit}` : '';
  switch (schema.type) {
    case 'integer':
      return `must be an integer${range(schema.minimum, schema.maximum)}`;
    case 'number':
      return `must be a number${range(schema.minimum, schema.maximum)}`;
    case 'boolean':
      return 'must be true or false';
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      if (schema.format === 'uuid') return 'must be a UUID';
      if (schema.format === 'date-time') return 'must be an ISO-8601 date-time';
      if ((schema.minLength !== undefined && value.length < schema.minLength) || (schema.maxLength !== undefined && value.length > schema.maxLength)) {
        return `must be a string${range(schema.minLength, schema.maxLength, ' characters')}`;
      }
      if (schema.pattern) return schema.description ? `must be: ${schema.description}` : `must match ${schema.pattern}`;
      return 'must be a string';
    case 'array':
      if (!Array.isArray(value)) return 'must be an array';
      if (schema.uniqueItems) return `must be an array of distinct items${range(schema.minItems, schema.maxItems, ' items')}`;
      return `must be an array${range(schema.minItems, schema.maxItems, ' items')}`;
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
      if (schema.minProperties) return schema.description ? `must have ${schema.description}` : `must have at least ${schema.minProperties} field(s)`;
      return undefined;
    default:
      return undefined;
  }
}

export function fieldErrors(error: ValidationError): FieldError[] {
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const issue of error.all) {
    const pointer = 'path' in issue ? String(issue.path) : '';
    const path = [error.type, ...pointer.split('/').filter(Boolean)].join('.');
    if (seen.has(path)) continue; // one message per field is enough
    seen.add(path);
    const schema = 'schema' in issue ? (issue.schema as Schema) : undefined;
    const value = 'value' in issue ? issue.value : undefined;
    const message = describe(schema, value) ?? ('summary' in issue && issue.summary ? String(issue.summary) : String(issue.message));
    result.push({ path, message });
  }
  return result;
}
