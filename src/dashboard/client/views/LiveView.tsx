import { useCan } from '../access.ts';
import { time, shortId } from '../format.ts';
import { useLiveState, useTick } from '../hooks.ts';
import { href } from '../router.ts';
import { STATUS_LABELS, STATUSES } from '../types.ts';
import { Loading, ProblemBox, StatusBadge } from '../ui.tsx';
import { OrdersChart } from './OrdersChart.tsx';
import { WarehouseSync } from './WarehouseSync.tsx';

function Counts() {
  const live = useLiveState();
  if (live.countsProblem && !live.counts) return <ProblemBox problem={live.countsProblem} />;
  if (!live.counts) return <Loading what="order counts" />;
  const counts = live.counts;
  return (
    <ul class="counts" aria-label="Orders by status">
      {STATUSES.map((status) => (
        <li key={status} class={`count status-${status}`} data-status={status}>
          <a href={href('orders', { status })}>
            <span class="label">{STATUS_LABELS[status]}</span>
            <strong class="value">{counts[status]}</strong>
          </a>
        </li>
      ))}
    </ul>
  );
}

function RecentChanges() {
  const { recent, stream } = useLiveState();
  if (recent.length === 0) {
    return <p class="state empty">{stream.status === 'live' ? 'No order has changed since this page opened.' : 'Waiting for the event stream…'}</p>;
  }
  return (
    <ol class="recent" aria-label="Latest order changes, newest first">
      {recent.map((change) => (
        <li key={change.id} data-order={change.orderId}>
          <time dateTime={change.at}>{time(change.at)}</time>{' '}
          <a href={href(`orders/${change.orderId}`)} title={change.orderId}>
            Order {shortId(change.orderId)}
          </a>{' '}
          {change.previous && change.previous !== change.status && (
            <>
              <StatusBadge status={change.previous} /> →{' '}
            </>
          )}
          <StatusBadge status={change.status} />
          {change.error && <span class="error-text"> {change.error}</span>}
        </li>
      ))}
    </ol>
  );
}

/** Counts by status, orders per second, the latest changes (from the event stream), the warehouse sync: each if the credential may. */
export function LiveView() {
  const live = useLiveState();
  const can = useCan();
  useTick(1000);
  return (
    <>
      <h1 tabIndex={-1}>Live</h1>
      {live.stream.status === 'reconnecting' && (
        <p class="notice" role="status">
          Lost the event stream ({live.stream.problem?.detail}); reconnecting{live.stream.lastEventId ? ' and resuming after the last event received' : ''}…
        </p>
      )}
      {live.stream.status === 'stopped' && live.stream.problem && <ProblemBox problem={live.stream.problem} />}
      {can('GET /api/v1/orders/counts') && (
        <section aria-labelledby="counts-title">
          <h2 id="counts-title">Orders by status</h2>
          <Counts />
        </section>
      )}
      {can('GET /api/v1/events') && (
        <div class="columns">
          <section class="card wide" aria-labelledby="rate-title">
            <h2 id="rate-title">Orders per second</h2>
            <OrdersChart perSecond={live.perSecond} now={Date.now()} />
          </section>
          <section class="card" aria-labelledby="recent-title">
            <h2 id="recent-title">Latest changes</h2>
            <RecentChanges />
          </section>
        </div>
      )}
      {can('POST /api/v1/warehouse/sync') && <WarehouseSync />}
    </>
  );
}
