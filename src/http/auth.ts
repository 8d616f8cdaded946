import { timingSafeEqual } from 'node:crypto';
import { Elysia } from 'elysia';
import { AppError } from './errors.ts';

export type Role = 'admin' | 'client';
export type Tokens = { admin: string; client: string };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function roleOf(authorization: string | undefined, tokens: Tokens): Role | undefined {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const token = authorization.slice(7).trim();
  if (same(token, tokens.admin)) return 'admin';
  if (same(token, tokens.client)) return 'client';
  return undefined;
}

/**
 * `{ role: 'client' }` on a route lets either token in, `{ role: 'admin' }` only the admin token.
 * No token or an unknown one → 401; a known token without the role → 403.
 */
export function authPlugin(tokens: Tokens) {
  return new Elysia({ name: 'auth' }).macro({
    role: (required: Role) => ({
      detail: { security: [{ bearer: [] }] },
      // `transform` runs before validation: an anonymous request learns nothing about the body rules.
      transform({ headers }) {
        const role = roleOf(headers.authorization, tokens);
        if (!role) throw new AppError('unauthorized', 'a valid bearer token is required', undefined, { wwwAuthenticate: true });
        if (required === 'admin' && role !== 'admin') throw new AppError('forbidden', 'this operation needs the admin token');
      },
    }),
  });
}
