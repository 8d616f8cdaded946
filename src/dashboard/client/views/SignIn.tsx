import { useState } from 'preact/hooks';
import { api, type Problem } from '../api.ts';
import { useAction } from '../hooks.ts';
import { ProblemBox } from '../ui.tsx';

/** Checks the token with `GET /api/v1/me` (every credential may), before keeping it for the session. */
export function SignIn({ refused, onSignedIn }: { refused?: Problem; onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    const ok = await action.run(() => api('GET', '/api/v1/me', { token: value }));
    if (ok) onSignedIn(value);
  };
  return (
    <main class="sign-in">
      <h1>Stockroom</h1>
      <form onSubmit={submit} class="card">
        <h2>Sign in</h2>
        <p class="hint">
          Use an API key (<code>sr_live_…</code>) or the admin or client token (printed at the first start, kept in <code>.data/tokens.json</code>).
          The dashboard shows what its role may do. It is kept in this tab only.
        </p>
        {refused && !action.problem && <ProblemBox problem={refused} />}
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        {action.problem && <ProblemBox problem={action.problem} />}
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
