import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Problem } from './api.ts';
import type { Loaded } from './hooks.ts';
import { STATUS_LABELS, TRANSFER_STATUS_LABELS, type OrderStatus, type TransferStatus } from './types.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p class="state" role="status">
      Loading {what}…
    </p>
  );
}

/** A page whose content is still loading, or failed to: its plain heading, and the state below it; nothing once it is ready. */
export function PagePending({ state, title, what, onRetry }: { state: Loaded<unknown>; title: string; what: string; onRetry: () => void }) {
  if (state.status === 'ready') return null;
  return (
    <>
      <h1 tabIndex={-1}>{title}</h1>
      {state.status === 'loading' ? <Loading what={what} /> : <ProblemBox problem={state.problem} onRetry={onRetry} />}
    </>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

/** An error as the API reported it: its `detail`, and each invalid field. */
export function ProblemBox({ problem, onRetry }: { problem: Problem; onRetry?: () => void }) {
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{problem.status ? `${problem.title} (${problem.status})` : problem.title}:</strong> {problem.detail}
      </p>
      {problem.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status: OrderStatus }) {
  return <span class={`badge status-${status}`}>{STATUS_LABELS[status]}</span>;
}

export function TransferBadge({ status }: { status: TransferStatus }) {
  return <span class={`badge transfer-${status}`}>{TRANSFER_STATUS_LABELS[status]}</span>;
}

/** A button for what cannot be undone: a first press asks, a second one acts. */
export function ConfirmButton(props: { label: string; confirm: string; busy: boolean; onConfirm: () => void; danger?: boolean }) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  // Keyboard users land on the question's answer, not back at the top of the page.
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class={props.danger ? 'danger' : undefined} disabled={props.busy} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={props.confirm}>
      <span>{props.confirm}</span>
      <button
        type="button"
        class={props.danger ? 'danger' : undefined}
        ref={yes}
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        No
      </button>
    </span>
  );
}

/** A secret the API answers once (a key, a signing secret): shown until the page is left, selected on focus to copy. */
export function ShownOnce(props: { id: string; label: string; value: string; children: ComponentChildren }) {
  return (
    <div class="notice new-key">
      <p>{props.children}</p>
      <label for={props.id}>{props.label}</label>
      <input id={props.id} class="secret" readOnly value={props.value} onFocus={(e) => e.currentTarget.select()} />
    </div>
  );
}
