import type { ApiKeyRole } from '../modules/api-keys/roles.ts';

/**
 * Who is calling. Every authenticated request carries one credential; anonymous requests none.
 * `scope` is stable per credential and namespaces what a caller owns, such as its idempotency keys.
 */
/** A customer token acts for one customer; it is a role of its own in the access table. */
export type Role = ApiKeyRole | 'customer';

export type CredentialKind = 'bootstrap' | 'api-key' | 'customer';

export type Credential = {
  kind: CredentialKind;
  /** `admin`/`client` for the bootstrap tokens, the key's id, or the customer id. */
  id: string;
  role: Role;
  /** `token:admin`, `token:client`, `key:<id>`, `customer:<sub>`. */
  scope: string;
  /** For people: the key's name, the bootstrap token's variable, the customer id. */
  name: string;
  /** Set for customer tokens only: the one customer this credential may act for. */
  customerId?: string;
};

export const bootstrapCredential = (which: 'admin' | 'client'): Credential => ({
  kind: 'bootstrap',
  id: which,
  role: which === 'admin' ? 'admin' : 'storefront',
  scope: `token:${which}`,
  name: which === 'admin' ? 'ADMIN_TOKEN' : 'CLIENT_TOKEN',
});

export const apiKeyCredential = (key: { id: string; name: string; role: ApiKeyRole }): Credential => ({
  kind: 'api-key',
  id: key.id,
  role: key.role,
  scope: `key:${key.id}`,
  name: key.name,
});

export const customerCredential = (customerId: string): Credential => ({
  kind: 'customer',
  id: customerId,
  role: 'customer',
  scope: `customer:${customerId}`,
  name: customerId,
  customerId,
});
