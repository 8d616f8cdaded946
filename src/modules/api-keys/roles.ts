/** What an API key may do (API.md, Authentication); the access table in src/http/access.ts says which operations each role reaches. */
export const apiKeyRoles = ['admin', 'storefront', 'warehouse', 'read-only'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];
