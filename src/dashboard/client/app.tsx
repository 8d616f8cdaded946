import { useEffect, useMemo, useState } from 'preact/hooks';
import { AccessContext, mayCall, pageNeeds, useCan, useMe } from './access.ts';
import { get, onUnauthorized, type Problem } from './api.ts';
import { LiveContext, useLoad } from './hooks.ts';
import { Live } from './live.ts';
import { href, useRoute, type Route } from './router.ts';
import { session } from './session.ts';
import { Layout } from './views/Layout.tsx';
import { LiveView } from './views/LiveView.tsx';
import { LocationPage } from './views/LocationPage.tsx';
import { LocationsView } from './views/LocationsView.tsx';
import { OrderPage } from './views/OrderPage.tsx';
import { OrdersView } from './views/OrdersView.tsx';
import { PlaceOrder } from './views/PlaceOrder.tsx';
import { ProductNew } from './views/ProductNew.tsx';
import { ProductPage } from './views/ProductPage.tsx';
import { ProductsView } from './views/ProductsView.tsx';
import { SignIn } from './views/SignIn.tsx';
import { TransferNew } from './views/TransferNew.tsx';
import { TransferPage } from './views/TransferPage.tsx';
import { TransfersView } from './views/TransfersView.tsx';
import { ApiKeysView } from './views/ApiKeysView.tsx';
import { WebhookPage } from './views/WebhookPage.tsx';
import { WebhooksView } from './views/WebhooksView.tsx';
import type { Me } from './types.ts';
import { Loading, ProblemBox } from './ui.tsx';

function NotOpen() {
  const me = useMe();
  return (
    <>
      <h1 tabIndex={-1}>Not available</h1>
      <p class="state">
        This page is not open to the {me.role} role. <a href={href('')}>Go to the start page</a>.
      </p>
    </>
  );
}

function View({ route }: { route: Route }) {
  const can = useCan();
  const [section, id] = route.path;
  if (!pageNeeds(route.path).some(can)) return <NotOpen />;
  if (section === 'products' && id === 'new') return <ProductNew />;
  if (section === 'products' && id) return <ProductPage id={id} />;
  if (section === 'products') return <ProductsView params={route.params} />;
  if (section === 'orders' && id === 'new') return <PlaceOrder />;
  if (section === 'orders' && id) return <OrderPage id={id} />;
  if (section === 'orders') return <OrdersView params={route.params} />;
  if (section === 'locations' && id) return <LocationPage id={id} />;
  if (section === 'locations') return <LocationsView />;
  if (section === 'transfers' && id === 'new') return <TransferNew />;
  if (section === 'transfers' && id) return <TransferPage id={id} />;
  if (section === 'transfers') return <TransfersView params={route.params} />;
  if (section === 'api-keys') return <ApiKeysView />;
  if (section === 'webhooks' && id) return <WebhookPage id={id} />;
  if (section === 'webhooks') return <WebhooksView />;
  return <LiveView />;
}

function Dashboard({ token, me, signOut }: { token: string; me: Me; signOut: (problem?: Problem) => void }) {
  const route = useRoute();
  // The stream and the counts only for a credential that may read them (a warehouse key may not).
  const live = useMemo(
    () => new Live(token, signOut, { stream: mayCall(me, 'GET /api/v1/events'), counts: mayCall(me, 'GET /api/v1/orders/counts') }),
    [token, me],
  );
  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);
  return (
    <AccessContext.Provider value={me}>
      <LiveContext.Provider value={live}>
        <Layout route={route} onSignOut={() => signOut()}>
          <View route={route} />
        </Layout>
      </LiveContext.Provider>
    </AccessContext.Provider>
  );
}

/** Learns what the credential may do before showing anything (also after a reload of the page). */
function SignedIn({ token, signOut }: { token: string; signOut: (problem?: Problem) => void }) {
  const me = useLoad(() => get<Me>('/api/v1/me'), [token]);
  if (me.state.status === 'loading') return <Loading what="your access" />;
  if (me.state.status === 'error') return <ProblemBox problem={me.state.problem} onRetry={me.refresh} />;
  return <Dashboard token={token} me={me.state.value} signOut={signOut} />;
}

export function App() {
  const [token, setToken] = useState(session.token);
  const [refused, setRefused] = useState<Problem | undefined>();
  const signOut = (problem?: Problem) => {
    session.signOut();
    location.hash = ''; // the next credential starts on the start page, not on one it may not open
    setRefused(problem);
    setToken(null);
  };
  useEffect(() => onUnauthorized(signOut), []);
  if (!token) {
    return (
      <SignIn
        refused={refused}
        onSignedIn={(value) => {
          session.signIn(value);
          setRefused(undefined);
          setToken(value);
        }}
      />
    );
  }
  return <SignedIn token={token} signOut={signOut} />;
}
