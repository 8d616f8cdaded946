import { useEffect, useMemo, useState } from 'preact/hooks';
import { onUnauthorized, type Problem } from './api.ts';
import { LiveContext } from './hooks.ts';
import { Live } from './live.ts';
import { useRoute, type Route } from './router.ts';
import { session } from './session.ts';
import { Layout } from './views/Layout.tsx';
import { LiveView } from './views/LiveView.tsx';
import { OrderPage } from './views/OrderPage.tsx';
import { OrdersView } from './views/OrdersView.tsx';
import { PlaceOrder } from './views/PlaceOrder.tsx';
import { ProductNew } from './views/ProductNew.tsx';
import { ProductPage } from './views/ProductPage.tsx';
import { ProductsView } from './views/ProductsView.tsx';
import { SignIn } from './views/SignIn.tsx';

function View({ route }: { route: Route }) {
  const [section, id] = route.path;
  if (section === 'products' && id === 'new') return <ProductNew />;
  if (section === 'products' && id) return <ProductPage id={id} />;
  if (section === 'products') return <ProductsView params={route.params} />;
  if (section === 'orders' && id === 'new') return <PlaceOrder />;
  if (section === 'orders' && id) return <OrderPage id={id} />;
  if (section === 'orders') return <OrdersView params={route.params} />;
  return <LiveView />;
}

function SignedIn({ token, signOut }: { token: string; signOut: (problem?: Problem) => void }) {
  const route = useRoute();
  const live = useMemo(() => new Live(token, signOut), [token]);
  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);
  return (
    <LiveContext.Provider value={live}>
      <Layout route={route} onSignOut={() => signOut()}>
        <View route={route} />
      </Layout>
    </LiveContext.Provider>
  );
}

export function App() {
  const [token, setToken] = useState(session.token);
  const [refused, setRefused] = useState<Problem | undefined>();
  const signOut = (problem?: Problem) => {
    session.signOut();
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
