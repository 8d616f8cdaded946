import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me } from './types.ts';

/**
 * What the signed-in credential may do, as the service says (`GET /api/v1/me`): the dashboard
 * shows an action only when its operation is in that list, so it never keeps a role table of its own.
 */
export const AccessContext = createContext<Me | undefined>(undefined);

export const mayCall = (me: Me, operation: string) => me.operations.includes(operation);

/** `can('POST /api/v1/orders')`: whether to show what calls that operation. */
export function useCan(): (operation: string) => boolean {
  const me = useContext(AccessContext);
  if (!me) throw new Error('useCan outside a signed-in page');
  return (operation) => mayCall(me, operation);
}

export function useMe(): Me {
  const me = useContext(AccessContext);
  if (!me) throw new Error('useMe outside a signed-in page');
  return me;
}

/** The operations a page needs (any one of them): the menu and the router both ask this. */
export function pageNeeds(path: string[]): string[] {
  const [section, id] = path;
  if (section === 'api-keys') return ['GET /api/v1/api-keys'];
  if (section === 'webhooks') return [id ? 'GET /api/v1/webhooks/:id' : 'GET /api/v1/webhooks'];
  if (section === 'orders') return [id === 'new' ? 'POST /api/v1/orders' : 'GET /api/v1/orders'];
  if (section === 'products') return [id === 'new' ? 'POST /api/v1/products' : 'GET /api/v1/products'];
  if (section === 'locations') return [id ? 'GET /api/v1/locations/:id' : 'GET /api/v1/locations'];
  if (section === 'transfers') return [id === 'new' ? 'POST /api/v1/transfers' : id ? 'GET /api/v1/transfers/:id' : 'GET /api/v1/transfers'];
  return ['GET /api/v1/events', 'POST /api/v1/warehouse/sync'];
}
