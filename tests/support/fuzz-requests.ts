import fc from 'fast-check';
import { anyValue, CRAFTED_CURSORS, CRAFTED_EVENT_IDS, hostileValue, type IdPool, type JsonSchema } from './fuzz-values.ts';
import { tokens } from './service.ts';

/** One operation of the OpenAPI document: every parameter and body schema it declares. */
export type Operation = {
  method: string;
  path: string;
  secured: boolean;
  parameters: { name: string; in: 'path' | 'query' | 'header'; schema: JsonSchema }[];
  body: JsonSchema | undefined;
};

type OpenApi = { paths: Record<string, Record<string, { security?: unknown[]; parameters?: Operation['parameters']; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>> };

/** Every operation of `/swagger/json`: an operation added to the service joins the fuzzing by itself. */
export function operationsOf(document: OpenApi): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      secured: (op.security?.length ?? 0) > 0,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content['application/json']?.schema,
    })),
  );
}

export type FuzzRequest = { op: Operation; method: string; url: string; headers: Record<string, string>; body?: Uint8Array<ArrayBuffer>; describe: string };

const WHO = { admin: `Bearer ${tokens.admin}`, client: `Bearer ${tokens.client}`, anonymous: undefined, garbage: 'Bearer \u00ff-not-a-token' } as const;

/**
 * Request line and headers stay under Bun's 16 KiB: above it Bun answers a bare 431 before any of
 * our code runs (documented, and asserted in http-server.test.ts), which is not what this suite tests.
 */
const MAX_URL_PART = 3000;
const MAX_HEADER = 2000;

/** Text as it goes into a URL; a lone surrogate (which encodeURIComponent refuses) as the bytes a careless client would send. */
const urlText = (value: unknown) => {
  const text = (typeof value === 'string' ? value : JSON.stringify(value) ?? '').slice(0, MAX_URL_PART);
  return text.isWellFormed() ? encodeURIComponent(text) : encodeURIComponent(text.toWellFormed()).replaceAll('%EF%BF%BD', '%ED%A0%80');
};

/** What `fetch` can put in a header: Latin-1 without control characters (Bun itself refuses the rest, tested in http-server). */
const headerText = (value: unknown) => String(typeof value === 'string' ? value : JSON.stringify(value)).replace(/[^\x20-\x7e\xa0-\xff]/g, '?').slice(0, MAX_HEADER);

const utf8 = (text: string) => new TextEncoder().encode(text);
const deep = (depth: number) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;

/** Bodies that are not the JSON the schema describes, from the bytes up. */
const RAW_BODIES: fc.Arbitrary<Uint8Array<ArrayBuffer> | string> = fc.oneof(
  fc.constantFrom('{', '{"a":', 'nul', "{'a':1}", '[1,]', '{"a":1}}', '"just a string"', '123', 'null', '[]', '', '\ufeff{}', '{"a":1e400}', '{"a":123456789012345678901234567890}'),
  fc.constantFrom(deep(10_000), deep(33), deep(31), `{"name":"\\ud800"}`, `{"customerId":"\\u0000","items":[]}`),
  fc.constantFrom(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]), Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"name":"\xed\xa0\x80"}', 'latin1')),
  fc.integer({ min: 64 * 1024 - 20, max: 200 * 1024 }).map((n) => `{"name":"${'z'.repeat(n)}"}`),
);

const CONTENT_TYPES = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 8 },
  { arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/merge-patch+json', 'multipart/form-data; boundary=x', ''), weight: 2 },
);

function bodyFor(op: Operation, pool: IdPool): fc.Arbitrary<Uint8Array<ArrayBuffer> | string | undefined> {
  if (op.method === 'GET' || op.method === 'HEAD') return fc.constant(undefined); // fetch cannot send one
  // Wholly valid bodies reach the handlers (and the database); lightly hostile ones probe each field.
  const schemaBody = op.body
    ? fc.oneof(anyValue(op.body, pool, 0), anyValue(op.body, pool, 0.1)).map((value) => JSON.stringify(value) ?? 'null')
    : fc.constant(undefined);
  return fc.oneof(
    { arbitrary: schemaBody, weight: 6 },
    { arbitrary: RAW_BODIES, weight: 3 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

/** A parameter's value: hostile at `hostileRate` (cursors and event ids crafted then); 0 gives a valid one, or none where none can be made up. */
function paramValue(op: Operation, param: Operation['parameters'][number], pool: IdPool, hostileRate: number): fc.Arbitrary<unknown> {
  const crafted = param.name === 'cursor' ? CRAFTED_CURSORS : param.name === 'lastEventId' || param.name === 'last-event-id' ? CRAFTED_EVENT_IDS : undefined;
  if (crafted) return hostileRate === 0 ? fc.constant(undefined) : fc.oneof(fc.constantFrom(...crafted), hostileValue);
  // A path id is named by the segment before it: /products/{id} is a product.
  const name = param.in === 'path' ? (op.path.split(`/{${param.name}}`)[0]!.split('/').at(-1) ?? '') : param.name;
  return anyValue(param.schema, pool, hostileRate, name);
}

type Drawn = { values: unknown[]; who: keyof typeof WHO; body: Uint8Array<ArrayBuffer> | string | undefined; contentType: string };

function assemble(op: Operation, { values, who, body, contentType }: Drawn): FuzzRequest {
  let path = op.path;
  const query: string[] = [];
  const headers: Record<string, string> = {};
  op.parameters.forEach((param, i) => {
    const value = values[i];
    if (value === undefined) return;
    if (param.in === 'path') path = path.replace(`{${param.name}}`, urlText(value));
    else if (param.in === 'query') query.push(`${param.name}=${urlText(value)}`);
    else headers[param.name] = headerText(value);
  });
  const authorization = WHO[who];
  if (authorization) headers.authorization = authorization;
  if (body !== undefined && contentType) headers['content-type'] = contentType;
  const url = `${path}${query.length ? `?${query.join('&')}` : ''}`;
  const preview = body === undefined ? '' : typeof body === 'string' ? body.slice(0, 200) : `<${body.byteLength} bytes>`;
  const describe = `${op.method} ${url.slice(0, 300)} as ${who} [${headers['content-type'] ?? '-'}] ${preview}`;
  const request: FuzzRequest = { op, method: op.method, url, headers, body: typeof body === 'string' ? utf8(body) : body, describe };
  // fast-check prints a counterexample with this: the request as a line, not the whole object.
  return Object.assign(request, { [fc.toStringMethod]: () => describe });
}

/** Anything goes at once: every parameter, the body bytes, the content type and the credential may be hostile. */
function chaos(op: Operation, pool: IdPool): fc.Arbitrary<FuzzRequest> {
  const params = op.parameters.map((p) => (p.in === 'path' ? paramValue(op, p, pool, 0.3) : fc.option(paramValue(op, p, pool, 0.3), { nil: undefined })));
  return fc
    .record({
      values: fc.tuple(...params),
      who: fc.constantFrom(...(op.secured ? (['admin', 'admin', 'client', 'anonymous', 'garbage'] as const) : (['anonymous', 'admin'] as const))),
      body: bodyFor(op, pool),
      contentType: CONTENT_TYPES,
    })
    .map((drawn) => assemble(op, drawn));
}

/** Every place in a JSON value, as a path of keys. */
function places(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [at];
  const children = Array.isArray(value) ? value.map((v, i) => places(v, [...at, i])) : Object.entries(value).map(([k, v]) => places(v, [...at, k]));
  return [at, ...children.flat()];
}

/** `value` with the thing at `path` replaced: a string gets NUL or half a surrogate pair slipped in, anything else becomes `hostile`. */
function poisonAt(value: unknown, path: (string | number)[], poison: string, hostile: unknown): unknown {
  if (path.length === 0) return typeof value === 'string' ? `${value.slice(0, 1)}${poison}${value.slice(1)}` : hostile;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head!] = poisonAt(copy[head!], rest, poison, hostile);
  return copy;
}

/**
 * A valid request with exactly one thing wrong, in one parameter or one place of the body: the
 * request passes every other check, so the one rule that should stop it is the one tested.
 */
function onePoison(op: Operation, pool: IdPool): fc.Arbitrary<FuzzRequest> {
  const params = op.parameters.map((p) => (p.in === 'path' ? paramValue(op, p, pool, 0) : fc.option(paramValue(op, p, pool, 0), { nil: undefined })));
  const body = op.body && op.method !== 'GET' ? anyValue(op.body, pool, 0) : fc.constant(undefined);
  return fc
    .record({ values: fc.tuple(...params), body, target: fc.nat(), poison: fc.constantFrom('\u0000', '\ud800', '\udfff'), hostile: hostileValue })
    .map(({ values, body, target, poison, hostile }) => {
      const spots = [...values.keys(), ...(body === undefined ? [] : places(body))];
      const spot = spots[target % Math.max(spots.length, 1)];
      if (typeof spot === 'number') values[spot] = poisonAt(values[spot] ?? 'x', [], poison, hostile);
      else if (spot) body = poisonAt(body, spot, poison, hostile);
      return assemble(op, { values, who: 'admin', body: body === undefined ? undefined : JSON.stringify(body), contentType: 'application/json' });
    });
}

/** One request to `op`: half with exactly one thing wrong, half with anything wrong at once. */
export function requestFor(op: Operation, pool: IdPool): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(onePoison(op, pool), chaos(op, pool));
}

export type FuzzReply = { status: number; contentType: string; body: unknown };

/** Sends over the socket; an event stream that opened is closed at once (it never ends by itself). */
export async function send(base: string, request: FuzzRequest): Promise<FuzzReply> {
  const response = await fetch(`${base}${request.url}`, { method: request.method, headers: request.headers, body: request.body, signal: AbortSignal.timeout(10_000) });
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, contentType, body: undefined };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the failure message
  }
  return { status: response.status, contentType, body };
}
