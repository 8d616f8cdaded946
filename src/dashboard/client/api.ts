import { session } from './session.ts';

/** RFC 9457 problem details, as every error of the API (and the network, as status 0) is shown. */
export type Problem = { title: string; status: number; detail: string; errors?: { path: string; message: string }[] };

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

let unauthorized: (problem: Problem) => void = () => {};
/** Called when the service refuses the token (401): the app signs out and says why. */
export const onUnauthorized = (handler: (problem: Problem) => void) => {
  unauthorized = handler;
};

export function authHeaders(token = session.token()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Reads a problem+json body, or makes one from whatever an error response carried. */
export async function readProblem(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (typeof body.detail === 'string') return { title: body.title ?? response.statusText, status: response.status, detail: body.detail, errors: body.errors };
  } catch {
    // not JSON: fall back to the text
  }
  return { title: response.statusText, status: response.status, detail: text.trim() || `${response.status} ${response.statusText}` };
}

export function asProblem(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  const message = error instanceof Error ? error.message : String(error);
  return { title: 'Network error', status: 0, detail: `the service could not be reached (${message})` };
}

/** JSON in, JSON out, with the session's token; any non-2xx becomes an `ApiError`. */
export async function api<T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(options.token), ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  } catch (error) {
    throw new ApiError(asProblem(error));
  }
  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401 && options.token === undefined) unauthorized(problem);
    throw new ApiError(problem);
  }
  return (response.status === 204 ? undefined : await response.json()) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown, headers?: Record<string, string>) => api<T>('POST', path, { body, headers });
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, { body });
export const del = (path: string) => api<void>('DELETE', path);

/** A query string from the set values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
