import type { Deadline, DeadlineQueue } from '../lib/deadline-queue.ts';
import { AppError, type FieldError } from '../lib/errors.ts';
import { textProblem } from '../lib/text.ts';

/**
 * The rules every piece of client input passes before any module sees it. Each check costs at most
 * one linear pass over input that is already bounded (the body limit, Bun's header limit), so a
 * hostile request costs about what an innocent one of the same size does.
 */

/** Deeper JSON is refused before it is parsed: parsing and validating it costs time that grows with the depth, on the thread that serves every request. */
const MAX_JSON_DEPTH = 32;

export type BodyLimits = { limitBytes: number; deadlines: DeadlineQueue };

const tooLarge = (limit: number) => new AppError('payload_too_large', `the body is larger than the ${limit}-byte limit`);

/**
 * Reads the body within the deadline (a client that promised bytes and never sent them gets a 408
 * instead of holding the request until Bun's idle timeout drops it silently). A body with a
 * Content-Length (already checked against the limit) is read whole, which costs a fraction of a
 * stream reader; a chunked one, which has no length to refuse up front, is read as it arrives
 * and stopped at the limit.
 */
export async function readBody(request: Request, limits: BodyLimits): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array();
  let timer: Deadline | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = limits.deadlines.add(() => reject(new AppError('request_timeout', `the body did not arrive within ${limits.deadlines.ms} ms`)));
  });
  try {
    if (request.headers.has('content-length')) {
      const bytes = new Uint8Array(await Promise.race([request.arrayBuffer(), deadline]));
      if (bytes.byteLength > limits.limitBytes) throw tooLarge(limits.limitBytes);
      return bytes;
    }
    return await readChunked(request.body, limits.limitBytes, deadline);
  } finally {
    limits.deadlines.remove(timer!);
  }
}

async function readChunked(body: ReadableStream<Uint8Array>, limitBytes: number, deadline: Promise<never>): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next.done) break;
      size += next.value.byteLength;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(next.value);
    }
  } catch (error) {
    void reader.cancel().catch(() => {});
    throw error;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes → JSON value, refusing what is not UTF-8, nests too deep or does not parse (all 400).
 * `escaped`: whether the text has any `\u` escape. Only through one can a string hold a NUL or a
 * lone surrogate (a raw NUL is invalid JSON, a raw lone surrogate invalid UTF-8), so a body
 * without one needs no walk for them (see `checkText`).
 */
export function decodeBody(bytes: Uint8Array): { value: unknown; escaped: boolean } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AppError('bad_request', 'the body is not valid UTF-8');
  }
  return { value: parseJson(text), escaped: text.includes('\\u') };
}


function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new AppError('bad_request', `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('bad_request', 'the body is not valid JSON');
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of `[`/`{` outside strings, stopping as soon as it passes `stopAbove`.
 * Malformed text may give a wrong figure; JSON.parse refuses it afterwards anyway.
 */
function jsonDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The first string (value or field name) in `value` that breaks the text rules, with its path. */
function findBadText(value: unknown, path: string): FieldError | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { path, message: `must not contain ${problem}` } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBadText(value[i], `${path}.${i}`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const problem = textProblem(key);
    if (problem) return { path, message: `has a field name containing ${problem}` };
    const found = findBadText(item, `${path}.${key.slice(0, 100)}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Query values whose percent-encoding is not UTF-8 (`%ED%A0%80`, `%FF`): Elysia keeps such a
 * value undecoded, so the service would silently work on text the client did not mean.
 */
function findBadQueryEncoding(url: string): FieldError | undefined {
  const start = url.indexOf('?');
  if (start === -1 || !url.includes('%', start)) return undefined;
  for (const pair of url.slice(start + 1).split('&')) {
    const [key = '', value = ''] = pair.split('=', 2);
    for (const part of [key, value]) {
      try {
        decodeURIComponent(part.replaceAll('+', ' '));
      } catch {
        return { path: `query.${safeKey(key)}`, message: 'is not valid percent-encoded UTF-8' };
      }
    }
  }
  return undefined;
}

function safeKey(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll('+', ' ')).slice(0, 100);
  } catch {
    return key.slice(0, 100);
  }
}

/** One 422 naming the field, for the first input that breaks the text rules. */
export function checkText(parts: Record<string, unknown>, url: string): void {
  let found = findBadQueryEncoding(url);
  for (const name in parts) found ??= findBadText(parts[name], name);
  if (found) throw new AppError('validation', `${found.path} ${found.message}`, [found]);
}
