import { Elysia } from 'elysia';
import { allowedFor, operationKey } from './access.ts';
import type { Authenticator } from './auth.ts';
import type { ClientIp } from './client-ip.ts';
import type { Credential, Role } from './credentials.ts';
import { AppError, toError } from '../lib/errors.ts';
import { rateLimitHeaders, type RateLimiter, type RatePolicy } from './rate-limit.ts';

/** Quotas per role, and per IP for requests without a credential; `undefined`: not limited. */
export type RatePolicies = Record<Role | 'anonymous', RatePolicy | undefined>;

export type GateOptions = { authenticator: Authenticator; limiter: RateLimiter; policies: RatePolicies; clientIp: ClientIp };

type Peer = { requestIP(request: Request): { address: string } | null } | null;
type Headers = Record<string, string | number | string[] | undefined>;

/**
 * Authentication, authorisation (access.ts) and rate limits, for every route, before anything else
 * looks at the request: a request that will be refused never has its body read or validated.
 *
 * Elysia runs `parse` hooks before `transform` (derive), and global hooks in the order they were
 * registered, so this plugin goes into the app before the HTTP shell's body parser: for a request
 * with a body the decision is made in `parse`, for one without in `derive`, once per request either
 * way. Handlers get the caller as `credential` (`undefined`: anonymous).
 */
export function accessGate(options: GateOptions) {
  const decided = new WeakMap<Request, Credential | null>();

  async function admit(request: Request, route: string, server: Peer, headers: Headers): Promise<Credential | undefined> {
    const earlier = decided.get(request);
    if (earlier !== undefined) return earlier ?? undefined;
    const credential = await options.authenticator.authenticate(request.headers.get('authorization') ?? undefined).catch((error: unknown) => {
      // A database or JWKS that cannot be asked is our failure, not the caller's: 503 (the shell adds Retry-After).
      throw error instanceof AppError ? error : new AppError('unavailable', `credentials cannot be checked right now: ${toError(error).message}`);
    });
    const method = request.method === 'HEAD' ? 'GET' : request.method; // Elysia answers HEAD with the GET route
    const allowed = allowedFor(method, route);
    if (!allowed) throw new AppError('forbidden', `${operationKey(method, route)} is not open to any credential`);
    if (!allowed.includes('anyone')) {
      if (!credential) throw new AppError('unauthorized', 'a valid bearer token is required', undefined, { wwwAuthenticate: true });
      if (!allowed.includes(credential.role)) throw new AppError('forbidden', `this operation is not open to the ${credential.role} role`);
    }
    const policy = options.policies[credential?.role ?? 'anonymous'];
    if (policy) {
      const caller = credential?.scope ?? `ip:${options.clientIp.of(server?.requestIP(request)?.address, request.headers.get('x-forwarded-for'))}`;
      const decision = options.limiter.take(caller, policy);
      Object.assign(headers, rateLimitHeaders(policy, decision));
      if (!decision.allowed) {
        throw new AppError('rate_limited', `rate limit of ${policy.quota} requests per ${policy.windowSeconds} s exceeded; retry in ${decision.retryAfterSeconds} s`, undefined, {
          retryAfterSeconds: decision.retryAfterSeconds,
        });
      }
    }
    decided.set(request, credential ?? null);
    return credential;
  }

  return new Elysia({ name: 'access-gate' })
    .onParse({ as: 'global' }, async ({ request, route, server, set }) => {
      await admit(request, route, server, set.headers);
    })
    .derive({ as: 'global' }, async ({ request, route, server, set }) => ({ credential: await admit(request, route, server, set.headers) }));
}

export type AccessGate = ReturnType<typeof accessGate>;
