import { SignJWT } from 'jose';
import type { Api } from './service.ts';

/** 32 bytes or more, as the config requires for HS256. */
export const customerSecret = 'test-customer-secret-of-at-least-32-bytes';

/** An API key of `role`, created through the API (admin token). */
export async function createKey(api: Api, role: string, name = `${role} key`): Promise<{ id: string; key: string; prefix: string; createdAt: string }> {
  const reply = await api.post('/api/v1/api-keys', { name, role });
  if (reply.status !== 201) throw new Error(`could not create a ${role} key: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** A customer token for `customerId`, HS256 with the test secret; `exp` in seconds from now. */
export function customerToken(customerId: string, options: { expiresInSeconds?: number; secret?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(customerId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 300))
    .sign(new TextEncoder().encode(options.secret ?? customerSecret));
}
