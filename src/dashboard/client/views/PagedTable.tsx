import type { ComponentChildren } from 'preact';
import type { Pages } from '../hooks.ts';
import { Empty, Loading, ProblemBox } from '../ui.tsx';

/** A list's every state: loading, failed (with a retry), empty, and the table with "Load more". */
export function PagedTable<T>(props: {
  pages: Pages<T>;
  /** What is listed, for the loading line ("orders"). */
  what: string;
  empty: string;
  caption: string;
  head: ComponentChildren;
  row: (item: T) => ComponentChildren;
}) {
  const { pages } = props;
  const state = pages.state;
  if (state.status === 'loading') return <Loading what={props.what} />;
  if (state.status === 'error') return <ProblemBox problem={state.problem} onRetry={pages.refresh} />;
  if (state.value.items.length === 0) return <Empty>{props.empty}</Empty>;
  const cursor = state.value.nextCursor;
  return (
    <>
      <table class="data">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>{props.head}</tr>
        </thead>
        <tbody>{state.value.items.map(props.row)}</tbody>
      </table>
      {pages.more.problem && <ProblemBox problem={pages.more.problem} />}
      {cursor && (
        <button type="button" disabled={pages.more.busy} onClick={() => pages.loadMore(cursor)}>
          {pages.more.busy ? 'Loading…' : 'Load more'}
        </button>
      )}
    </>
  );
}
