import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { del, get, patch, post, query } from '../api.ts';
import { dateTime, relative } from '../format.ts';
import { useAction, useLoad, usePages } from '../hooks.ts';
import { href, navigate } from '../router.ts';
import type { Delivery, Page, Webhook } from '../types.ts';
import { ConfirmButton, Loading, ProblemBox, ShownOnce } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';
import { HealthBadge, HealthText } from './webhook-health.tsx';

const REDELIVER = 'POST /api/v1/webhooks/:id/deliveries/:deliveryId/redeliver';

function Actions({ hook, onChanged }: { hook: Webhook; onChanged: () => void }) {
  const can = useCan();
  const action = useAction();
  const [secret, setSecret] = useState<string | undefined>();
  const toggle = async () => {
    if (await action.run(() => patch<Webhook>(`/api/v1/webhooks/${hook.id}`, { enabled: !hook.enabled }))) onChanged();
  };
  const rotate = async () => {
    const rotated = await action.run(() => post<{ secret: string }>(`/api/v1/webhooks/${hook.id}/rotate-secret`));
    if (rotated) setSecret(rotated.secret);
  };
  const remove = async () => {
    const deleted = await action.run(async () => {
      await del(`/api/v1/webhooks/${hook.id}`);
      return true;
    });
    if (deleted) navigate('webhooks');
  };
  return (
    <div class="card">
      <div class="actions">
        {can('PATCH /api/v1/webhooks/:id') && (
          <button type="button" disabled={action.busy} onClick={() => void toggle()}>
            {hook.enabled ? 'Disable' : 'Enable (resume deliveries)'}
          </button>
        )}
        {can('POST /api/v1/webhooks/:id/rotate-secret') && (
          <ConfirmButton label="Rotate secret" confirm="The old secret keeps signing for 24 h." busy={action.busy} onConfirm={() => void rotate()} />
        )}
        {can('DELETE /api/v1/webhooks/:id') && <ConfirmButton label="Delete subscription" confirm="Its delivery log goes too." danger busy={action.busy} onConfirm={() => void remove()} />}
      </div>
      {action.problem && <ProblemBox problem={action.problem} />}
      <div aria-live="polite">
        {secret && (
          <ShownOnce id="rotated-secret" label="The new signing secret" value={secret}>
            <strong>Copy the new secret now:</strong> it is not shown again. For 24 h deliveries carry signatures by both.
          </ShownOnce>
        )}
      </div>
    </div>
  );
}

/** The log, newest first; refreshing it reads the subscription's health again too (`onRefresh`). */
function Deliveries({ hook, onRefresh }: { hook: Webhook; onRefresh: () => void }) {
  const can = useCan();
  const deliveries = usePages((cursor) => get<Page<Delivery>>(`/api/v1/webhooks/${hook.id}/deliveries${query({ limit: 25, cursor })}`), [hook.id]);
  const redelivering = useAction();
  const [queued, setQueued] = useState<string | undefined>();
  const redeliver = async (delivery: Delivery) => {
    const created = await redelivering.run(() => post<Delivery>(`/api/v1/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`));
    if (created) {
      setQueued(created.eventId);
      await deliveries.refresh();
      onRefresh();
    }
  };
  return (
    <section aria-labelledby="deliveries-title">
      <div class="heading">
        <h2 id="deliveries-title">Latest deliveries</h2>
        <button
          type="button"
          onClick={() => {
            void deliveries.refresh();
            onRefresh();
          }}
        >
          Refresh
        </button>
      </div>
      {redelivering.problem && <ProblemBox problem={redelivering.problem} />}
      <p aria-live="polite">{queued && <span class="ok">Sent again: {queued}</span>}</p>
      <PagedTable
        pages={deliveries}
        what="deliveries"
        empty="Nothing delivered yet: events that commit from now on and that this subscription asks for will show here."
        caption="Deliveries, newest first"
        head={
          <>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Next attempt</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </>
        }
        row={(d) => (
          <tr key={d.id} data-delivery={d.id}>
            <td>
              <code>{d.type}</code>
              <div class="hint">{d.eventId}</div>
            </td>
            <td>{d.status}</td>
            <td class="num">{d.attempts}</td>
            <td title={d.responseExcerpt ?? undefined}>{d.responseStatus ?? '—'} {d.lastError && <span class="error-text">{d.lastError}</span>}</td>
            <td>{d.nextAttemptAt ? relative(d.nextAttemptAt) : '—'}</td>
            <td>{dateTime(d.createdAt)}</td>
            <td>
              {can(REDELIVER) && (
                <button type="button" disabled={redelivering.busy} onClick={() => void redeliver(d)}>
                  Redeliver<span class="visually-hidden"> {d.eventId}</span>
                </button>
              )}
            </td>
          </tr>
        )}
      />
    </section>
  );
}

export function WebhookPage({ id }: { id: string }) {
  const hook = useLoad(() => get<Webhook>(`/api/v1/webhooks/${id}`), [id]);
  const state = hook.state;
  return (
    <>
      <p class="crumbs">
        <a href={href('webhooks')}>Webhooks</a> /
      </p>
      {state.status === 'loading' && <Loading what="the subscription" />}
      {state.status === 'error' && <ProblemBox problem={state.problem} onRetry={hook.refresh} />}
      {state.status === 'ready' && (
        <>
          <h1 tabIndex={-1}>{state.value.url}</h1>
          <p>
            <HealthBadge hook={state.value} /> <HealthText hook={state.value} />
          </p>
          <p class="hint">
            Events: {state.value.events.join(', ')}
            {state.value.description && ` · ${state.value.description}`}
          </p>
          <Actions hook={state.value} onChanged={() => void hook.refresh()} />
          <Deliveries hook={state.value} onRefresh={() => void hook.refresh()} />
        </>
      )}
    </>
  );
}
