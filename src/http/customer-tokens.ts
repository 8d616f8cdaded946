import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../lib/errors.ts';

export type CustomerTokenOptions = {
  /** HS256 key: the secret's UTF-8 bytes. */
  secret: string | undefined;
  /** RS256, ES256 or EdDSA keys, fetched (and cached) from the shop's JWKS. */
  jwksUrl: string | undefined;
  clockSkewSeconds: number;
};

/** Each key source verifies its own algorithms only: an HS256 token is never checked against a public key, nor the reverse. */
const HMAC = ['HS256'];
const ASYMMETRIC = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];
/** As an order's `customerId`, and without control characters (the id becomes part of the credential's scope). */
const CUSTOMER_ID = /^(?=.*\S)[^\x00-\x1f\x7f]{1,100}$/;

/** Failures of the token itself (401); anything else, such as an unreachable JWKS, is ours (503). */
const TOKEN_FAULTS: (abstract new (...args: never[]) => Error)[] = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
];

const refused = (detail: string) => new AppError('unauthorized', `customer token refused: ${detail}`, undefined, { wwwAuthenticate: true });

/**
 * Customer tokens: JWTs the shop signs for a logged-in customer (`sub` = the customer id, `exp`
 * required). `alg: none` is never accepted (no key source allows it).
 */
export class CustomerTokens {
  private readonly secret: Uint8Array | undefined;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(private readonly options: CustomerTokenOptions) {
    this.secret = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
    this.jwks = options.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 2000, cooldownDuration: 30_000 });
  }

  get enabled(): boolean {
    return this.secret !== undefined || this.jwks !== undefined;
  }

  /** The customer id the token was issued for; throws 401 for any token that does not verify. */
  async verify(token: string): Promise<string> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw refused('not a JWT');
    }
    let payload: JWTPayload;
    try {
      const verifyOptions = { clockTolerance: this.options.clockSkewSeconds, requiredClaims: ['exp', 'sub'] };
      if (alg !== undefined && HMAC.includes(alg) && this.secret) {
        payload = (await jwtVerify(token, this.secret, { ...verifyOptions, algorithms: HMAC })).payload;
      } else if (alg !== undefined && ASYMMETRIC.includes(alg) && this.jwks) {
        payload = (await jwtVerify(token, this.jwks, { ...verifyOptions, algorithms: ASYMMETRIC })).payload;
      } else {
        throw refused(`algorithm ${JSON.stringify(alg ?? null)} is not accepted`);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (TOKEN_FAULTS.some((fault) => error instanceof fault)) throw refused((error as Error).message);
      throw new AppError('unavailable', `customer tokens cannot be verified right now: ${(error as Error).message}`, undefined, { retryAfterSeconds: 5 });
    }
    if (typeof payload.sub !== 'string' || !CUSTOMER_ID.test(payload.sub)) throw refused('"sub" must be a customer id of 1 to 100 characters');
    return payload.sub;
  }
}

/** Three base64url parts: worth handing to the JWT verifier. */
export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
