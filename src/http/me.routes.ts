import { Elysia, t } from 'elysia';
import { operationsFor } from './access.ts';
import type { AccessGate } from './gate.ts';
import { errors } from './models.ts';

export const Me = t.Object({
  kind: t.Union([t.Literal('bootstrap'), t.Literal('api-key'), t.Literal('customer')]),
  role: t.Union([t.Literal('admin'), t.Literal('storefront'), t.Literal('warehouse'), t.Literal('read-only'), t.Literal('customer')]),
  id: t.String({ description: '`admin`/`client` for the bootstrap tokens, the API key id, or the customer id' }),
  name: t.String(),
  customerId: t.Optional(t.String()),
  operations: t.Array(t.String(), { description: 'Every operation this credential may call, as `METHOD /path`' }),
});

/** Who the caller is and what it may do: the dashboard shows only what this allows. */
export function meRoutes(gate: AccessGate) {
  return new Elysia({ prefix: '/api/v1/me', tags: ['Credentials'] }).use(gate).get(
    '',
    ({ credential }) => {
      const { kind, role, id, name, customerId } = credential!; // the gate lets no anonymous request in
      return { kind, role, id, name, ...(customerId === undefined ? {} : { customerId }), operations: operationsFor(role) };
    },
    {
      response: { 200: Me, ...errors(401, 429) },
      detail: { summary: 'The credential of this request', description: 'Its kind, role and the operations it may call. Any valid credential; a request without one gets 401.' },
    },
  );
}
