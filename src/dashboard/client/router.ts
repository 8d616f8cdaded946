import { useEffect, useMemo, useState } from 'preact/hooks';
import { query } from './api.ts';

/**
 * Hash routes (`#/orders/<id>?…`): the server serves one page for the whole dashboard, links work
 * with the keyboard and the back button, and a reload keeps the view.
 */
export type Route = { path: string[]; params: URLSearchParams };

function routeOf(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    // A hash set between the first render and now (right after signing in, say) has no event left to catch.
    changed();
    return () => removeEventListener('hashchange', changed);
  }, []);
  return useMemo(() => routeOf(hash), [hash]);
}

export const href = (path: string, params: Record<string, string | undefined> = {}) => `#/${path}${query(params)}`;

export function navigate(path: string, params: Record<string, string | undefined> = {}) {
  location.hash = href(path, params);
}
