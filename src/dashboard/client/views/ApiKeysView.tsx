import { useState } from 'preact/hooks';
import { del, get, post, query } from '../api.ts';
import { dateTime } from '../format.ts';
import { useAction, usePages } from '../hooks.ts';
import type { ApiKey, ApiKeyCreated, Page } from '../types.ts';
import { ConfirmButton, ProblemBox, ShownOnce } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';

const ROLES = [
  { role: 'storefront', text: 'Storefront: place, read and cancel orders; read the catalog' },
  { role: 'warehouse', text: 'Warehouse: inventory writes, warehouse sync, catalog reads' },
  { role: 'read-only', text: 'Read-only: every read except metrics, API keys and webhooks' },
  { role: 'admin', text: 'Admin: everything' },
] as const;

/** The key is in the answer to its creation only: shown until the page is left, with a way to copy it. */
function CreateForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiKey['role']>('storefront');
  const [created, setCreated] = useState<ApiKeyCreated | undefined>();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setCreated(undefined);
    const key = await action.run(() => post<ApiKeyCreated>('/api/v1/api-keys', { name: name.trim(), role }));
    if (key) {
      setCreated(key);
      setName('');
      onCreated();
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-key-title">
      <h2 id="new-key-title">Create a key</h2>
      <label for="key-name">Name</label>
      <input id="key-name" required maxLength={100} placeholder="what it is for, e.g. web shop" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="key-role">Role</label>
      <select id="key-role" value={role} onChange={(e) => setRole(e.currentTarget.value as ApiKey['role'])}>
        {ROLES.map((r) => (
          <option key={r.role} value={r.role}>
            {r.text}
          </option>
        ))}
      </select>
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Creating…' : 'Create key'}
        </button>
      </div>
      <div aria-live="polite">
        {created && (
          <ShownOnce id="created-key" label="The new key" value={created.key}>
            <strong>Copy the key for “{created.name}” now:</strong> it is not shown again (only its hash is kept).
          </ShownOnce>
        )}
      </div>
    </form>
  );
}

export function ApiKeysView() {
  const keys = usePages((cursor) => get<Page<ApiKey>>(`/api/v1/api-keys${query({ limit: 50, cursor })}`), []);
  const revoking = useAction();
  const revoke = async (id: string) => {
    await revoking.run(() => del(`/api/v1/api-keys/${id}`));
    await keys.refresh();
  };
  return (
    <>
      <h1 tabIndex={-1}>API keys</h1>
      <p class="hint">Keys for integrations: each is a bearer token with one role. A revoked key is refused at once, by every process.</p>
      <CreateForm onCreated={() => void keys.refresh()} />
      {revoking.problem && <ProblemBox problem={revoking.problem} />}
      <PagedTable
        pages={keys}
        what="API keys"
        empty="No API key yet."
        caption="Active API keys, newest first"
        head={
          <>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Key starts with</th>
            <th scope="col">Last used</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </>
        }
        row={(key) => (
          <tr key={key.id} data-key={key.id}>
            <td>{key.name}</td>
            <td>{key.role}</td>
            <td>
              <code>{key.prefix}…</code>
            </td>
            <td>{key.lastUsedAt ? dateTime(key.lastUsedAt) : 'never'}</td>
            <td>{dateTime(key.createdAt)}</td>
            <td>
              <ConfirmButton label={`Revoke ${key.name}`} confirm="Requests with this key will be refused." danger busy={revoking.busy} onConfirm={() => void revoke(key.id)} />
            </td>
          </tr>
        )}
      />
    </>
  );
}
