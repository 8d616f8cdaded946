import { useEffect, useState } from 'preact/hooks';
import { query } from './api.ts';

/**
 * Hash routes (`#/orders/<id>?…`): the server serves one page for the whole dashboard, links work
 * with the keyboard and the back button, and a reload keeps the view.
 */
export type Route = { path: string[]; params: URLSearchParams };

function current(): Route {
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const changed = () => setRoute(current());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export const href = (path: string, params: Record<string, string | undefined> = {}) => `#/${path}${query(params)}`;

export function navigate(path: string, params: Record<string, string | undefined> = {}) {
  location.hash = href(path, params);
}
