import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { get, post, query } from '../api.ts';
import { useAction, usePages } from '../hooks.ts';
import { href } from '../router.ts';
import { webhookEventTypes, type Page, type Webhook, type WebhookCreated } from '../types.ts';
import { ProblemBox, ShownOnce } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';
import { HealthBadge, HealthText } from './webhook-health.tsx';

/** The secret is in the answer to the creation only: shown until the page is left. */
function CreateForm({ onCreated }: { onCreated: () => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<Set<string>>(new Set(['order.created']));
  const [created, setCreated] = useState<WebhookCreated | undefined>();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setCreated(undefined);
    const hook = await action.run(() => post<WebhookCreated>('/api/v1/webhooks', { url: url.trim(), events: [...events], description }));
    if (hook) {
      setCreated(hook);
      setUrl('');
      setDescription('');
      onCreated();
    }
  };
  const toggle = (type: string, on: boolean) => {
    const next = new Set(events);
    if (on) next.add(type);
    else next.delete(type);
    setEvents(next);
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-hook-title">
      <h2 id="new-hook-title">Add a subscription</h2>
      <label for="hook-url">URL</label>
      <input id="hook-url" type="url" required maxLength={2000} placeholder="https://erp.example/hooks/stockroom" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      <label for="hook-description">Description</label>
      <input id="hook-description" maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <fieldset>
        <legend>Events</legend>
        {webhookEventTypes.map((type) => (
          <label key={type} class="check">
            <input type="checkbox" checked={events.has(type)} onChange={(e) => toggle(type, e.currentTarget.checked)} /> <code>{type}</code>
          </label>
        ))}
      </fieldset>
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy || events.size === 0}>
          {action.busy ? 'Adding…' : 'Add subscription'}
        </button>
      </div>
      <div aria-live="polite">
        {created && (
          <ShownOnce id="created-secret" label="The signing secret" value={created.secret}>
            <strong>Copy the signing secret now:</strong> it is not shown again. Receivers verify deliveries with it (Standard Webhooks).
          </ShownOnce>
        )}
      </div>
    </form>
  );
}

export function WebhooksView() {
  const can = useCan();
  const hooks = usePages((cursor) => get<Page<Webhook>>(`/api/v1/webhooks${query({ limit: 50, cursor })}`), []);
  return (
    <>
      <h1 tabIndex={-1}>Webhooks</h1>
      <p class="hint">Signed deliveries of order, stock and sync events to the shop's other systems, retried for 24 h; in order per order and per product.</p>
      {can('POST /api/v1/webhooks') && <CreateForm onCreated={() => void hooks.refresh()} />}
      <PagedTable
        pages={hooks}
        what="subscriptions"
        empty="No subscription yet."
        caption="Webhook subscriptions, newest first"
        head={
          <>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">Health</th>
          </>
        }
        row={(hook) => (
          <tr key={hook.id} data-webhook={hook.id}>
            <td>
              <a href={href(`webhooks/${hook.id}`)}>{hook.url}</a>
              {hook.description && <div class="hint">{hook.description}</div>}
            </td>
            <td>{hook.events.join(', ')}</td>
            <td>
              <HealthBadge hook={hook} /> <HealthText hook={hook} />
            </td>
          </tr>
        )}
      />
    </>
  );
}
