import { timingSafeEqual } from 'node:crypto';
import { KEY_PREFIX } from '../modules/api-keys/api-keys.service.ts';
import { hashKey, type KeyStore } from '../modules/api-keys/key-store.ts';
import { apiKeyCredential, bootstrapCredential, customerCredential, type Credential } from './credentials.ts';
import { looksLikeJwt, type CustomerTokens } from './customer-tokens.ts';
import { AppError } from '../lib/errors.ts';

/** The bootstrap tokens from the environment (ADMIN_TOKEN, CLIENT_TOKEN). */
export type Tokens = { admin: string; client: string };

const unauthorized = (detail = 'a valid bearer token is required') => new AppError('unauthorized', detail, undefined, { wwwAuthenticate: true });

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Turns an `Authorization` header into a credential: a bootstrap token, an API key (by the hash of
 * the key, from memory) or a customer token (a JWT). No header: anonymous (`undefined`); a header
 * that names no credential: 401, whatever the operation, so a typo never passes as anonymous.
 */
export class Authenticator {
  private readonly admin: Buffer;
  private readonly client: Buffer;

  constructor(
    tokens: Tokens,
    private readonly keys: KeyStore,
    private readonly customers: CustomerTokens,
  ) {
    this.admin = Buffer.from(tokens.admin);
    this.client = Buffer.from(tokens.client);
  }

  async authenticate(authorization: string | undefined): Promise<Credential | undefined> {
    if (authorization === undefined) return undefined;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const token = match[1]!;
    const presented = Buffer.from(token);
    if (same(presented, this.admin)) return bootstrapCredential('admin');
    if (same(presented, this.client)) return bootstrapCredential('client');
    if (token.startsWith(KEY_PREFIX)) {
      const key = await this.keys.find(hashKey(token));
      if (!key) throw unauthorized('this API key is unknown or was revoked');
      this.keys.markUsed(key.id);
      return apiKeyCredential(key);
    }
    if (this.customers.enabled && looksLikeJwt(token)) return customerCredential(await this.customers.verify(token));
    throw unauthorized();
  }
}
