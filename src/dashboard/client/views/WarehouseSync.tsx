import { useState } from 'preact/hooks';
import { post } from '../api.ts';
import { dateTime } from '../format.ts';
import { useAction } from '../hooks.ts';
import type { SyncRun } from '../types.ts';
import { ProblemBox } from '../ui.tsx';

/** Runs one warehouse synchronisation now (admin) and shows the run it answers, or why not. */
export function WarehouseSync() {
  const action = useAction();
  const [run, setRun] = useState<SyncRun | undefined>();
  const start = async () => {
    setRun(undefined);
    setRun(await action.run(() => post<SyncRun>('/api/v1/warehouse/sync')));
  };
  return (
    <section class="card" aria-labelledby="sync-title">
      <h2 id="sync-title">Warehouse</h2>
      <p class="hint">Compares every SKU with the warehouse's physical count and corrects on-hand stock.</p>
      <button type="button" onClick={start} disabled={action.busy}>
        {action.busy ? 'Syncing…' : 'Run warehouse sync'}
      </button>
      <div aria-live="polite">
        {action.problem && <ProblemBox problem={action.problem} />}
        {run && (
          <dl class="facts">
            <dt>Run</dt>
            <dd>
              <code>{run.id}</code>
            </dd>
            <dt>Status</dt>
            <dd>{run.status}</dd>
            <dt>Started</dt>
            <dd>{dateTime(run.startedAt)}</dd>
            <dt>Finished</dt>
            <dd>{run.finishedAt ? dateTime(run.finishedAt) : '—'}</dd>
            <dt>Items checked</dt>
            <dd>{run.itemsChecked}</dd>
            <dt>Items adjusted</dt>
            <dd>{run.itemsAdjusted}</dd>
            <dt>Errors</dt>
            <dd>
              {run.errors.length === 0 ? (
                'none'
              ) : (
                <ul>
                  {run.errors.map((e, i) => (
                    <li key={i}>
                      {e.sku === null ? null : (
                        <>
                          <code>{e.sku}</code>:{' '}
                        </>
                      )}
                      {e.message}
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </dl>
        )}
      </div>
    </section>
  );
}
