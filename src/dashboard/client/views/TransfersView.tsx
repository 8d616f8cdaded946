import { useCan } from '../access.ts';
import { get, query } from '../api.ts';
import { dateTime, shortId } from '../format.ts';
import { useDebounced, useLiveEvents, usePages } from '../hooks.ts';
import { locationCode, useLocations } from '../locations.ts';
import { href, navigate } from '../router.ts';
import { TRANSFER_STATUS_LABELS, TRANSFER_STATUSES, type Page, type Transfer } from '../types.ts';
import { TransferBadge } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';

const units = (transfer: Transfer, pick: (item: Transfer['items'][number]) => number) => transfer.items.reduce((sum, item) => sum + pick(item), 0);

export function TransfersView({ params }: { params: URLSearchParams }) {
  const can = useCan();
  const status = params.get('status') ?? '';
  const transfers = usePages((cursor) => get<Page<Transfer>>(`/api/v1/transfers${query({ status, limit: 50, cursor })}`), [status]);
  const refresh = useDebounced(() => void transfers.refresh(), 300);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'transfer.received')) refresh();
  });
  // Codes make the rows readable; until they come (or if they cannot be read), ids stand in.
  const locations = useLocations();
  const codes = locations.state.status === 'ready' ? locations.state.value : undefined;
  return (
    <>
      <div class="heading">
        <h1 tabIndex={-1}>Transfers</h1>
        {can('POST /api/v1/transfers') && (
          <a class="button primary" href={href('transfers/new')}>
            New transfer
          </a>
        )}
      </div>
      <p class="hint">Stock on its way between locations: it left the source's on hand when sent, and is incoming at the destination (never sold) until received.</p>
      <div class="toolbar">
        <label for="transfer-status">Status</label>
        <select id="transfer-status" value={status} onChange={(e) => navigate('transfers', { status: e.currentTarget.value || undefined })}>
          <option value="">All statuses</option>
          {TRANSFER_STATUSES.map((s) => (
            <option key={s} value={s}>
              {TRANSFER_STATUS_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      <PagedTable
        pages={transfers}
        what="transfers"
        empty={status ? 'No transfer has this status.' : 'No transfer yet.'}
        caption="Transfers, newest first"
        head={
          <>
            <th scope="col">Transfer</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">Products</th>
            <th scope="col" class="num">Units sent</th>
            <th scope="col" class="num">Received</th>
            <th scope="col">Created</th>
          </>
        }
        row={(t) => (
          <tr key={t.id} data-transfer={t.id}>
            <td>
              <a href={href(`transfers/${t.id}`)} title={t.id}>
                <code>{shortId(t.id)}</code>
              </a>
            </td>
            <td>{locationCode(codes, t.fromLocationId)}</td>
            <td>{locationCode(codes, t.toLocationId)}</td>
            <td>
              <TransferBadge status={t.status} />
            </td>
            <td class="num">{t.items.length}</td>
            <td class="num">{units(t, (i) => i.quantity)}</td>
            <td class="num">{units(t, (i) => i.received)}</td>
            <td>{dateTime(t.createdAt)}</td>
          </tr>
        )}
      />
    </>
  );
}
