import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { pageNeeds, useCan, useMe } from '../access.ts';
import { useLiveState } from '../hooks.ts';
import type { Route } from '../router.ts';

/**
 * Each page is in the menu when the credential may call an operation it needs (`pageNeeds`); a
 * section's own pages (`orders/<id>`) mark it current, unless they have an entry of their own.
 */
const NAV = [
  { path: '', label: 'Live' },
  { path: 'products', label: 'Products' },
  { path: 'orders', label: 'Orders' },
  { path: 'orders/new', label: 'Place order' },
  { path: 'locations', label: 'Locations' },
  { path: 'transfers', label: 'Transfers' },
  { path: 'api-keys', label: 'API keys' },
  { path: 'webhooks', label: 'Webhooks' },
];

const STREAM_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Stopped' };

function StreamIndicator() {
  const { stream } = useLiveState();
  return (
    <p class={`stream stream-${stream.status}`} role="status" title={stream.problem?.detail}>
      <span class="dot" aria-hidden="true" /> {STREAM_TEXT[stream.status]}
    </p>
  );
}

export function Layout({ route, onSignOut, children }: { route: Route; onSignOut: () => void; children: ComponentChildren }) {
  const current = route.path.join('/');
  const can = useCan();
  const me = useMe();
  // A new page: move the focus to its heading, so keyboard and screen reader users start there.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [current]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.querySelector<HTMLElement>('main h1')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <p class="brand">Stockroom</p>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => pageNeeds(item.path.split('/')).some(can)).map((item) => {
              const active = item.path === current || (item.path !== '' && current.startsWith(`${item.path}/`) && !NAV.some((other) => other.path === current));
              return (
                <li key={item.path}>
                  <a href={`#/${item.path}`} aria-current={active ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        {can('GET /api/v1/events') ? <StreamIndicator /> : <span class="spacer" />}
        <p class="who" title={`${me.kind} ${me.id}`}>
          {me.name} <span class="role">{me.role}</span>
        </p>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main">{children}</main>
    </>
  );
}
