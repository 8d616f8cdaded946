import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { asProblem, type Problem } from './api.ts';
import type { Live } from './live.ts';
import type { StreamEvent } from './stream.ts';
import type { Page } from './types.ts';

export const LiveContext = createContext<Live | undefined>(undefined);

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside a signed-in page');
  return live;
}

/** Re-renders whenever the live state changes. */
export function useLiveState(): Live {
  const live = useLive();
  const [, setVersion] = useState(0);
  useEffect(() => live.subscribe(() => setVersion((v) => v + 1)), [live]);
  return live;
}

/** Calls `handler` with each batch of stream events while the component is shown. */
export function useLiveEvents(handler: (events: StreamEvent[]) => void) {
  const live = useLive();
  const current = useRef(handler);
  current.current = handler;
  useEffect(() => live.onEvents((events) => current.current(events)), [live]);
}

export type Loaded<T> = { status: 'loading' } | { status: 'error'; problem: Problem } | { status: 'ready'; value: T };

/**
 * Loads data for a view: `loading` when `deps` change, then `ready` or `error`. `refresh` loads
 * again in the background, keeping what is shown until the answer comes (no flicker on live
 * updates); answers to superseded requests are dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<Loaded<T>>({ status: 'loading' });
  const request = useRef(0);
  const current = useRef(load);
  current.current = load;
  const run = useCallback(async () => {
    const id = ++request.current;
    try {
      const value = await current.current();
      if (id === request.current) setState({ status: 'ready', value });
    } catch (error) {
      if (id === request.current) setState({ status: 'error', problem: asProblem(error) });
    }
  }, []);
  useEffect(() => {
    setState({ status: 'loading' });
    void run();
  }, deps);
  const update = useCallback((change: (value: T) => T) => setState((s) => (s.status === 'ready' ? { status: 'ready', value: change(s.value) } : s)), []);
  return { state, refresh: run, update };
}

/** A list read a page at a time: the first page with `deps`, the next ones on `loadMore`. */
export function usePages<T>(fetchPage: (cursor?: string) => Promise<Page<T>>, deps: unknown[]) {
  const pages = useLoad(() => fetchPage(), deps);
  const more = useAction();
  const loadMore = async (cursor: string) => {
    const next = await more.run(() => fetchPage(cursor));
    if (next) pages.update((page) => ({ items: [...page.items, ...next.items], nextCursor: next.nextCursor }));
  };
  return { ...pages, more, loadMore };
}

export type Pages<T> = ReturnType<typeof usePages<T>>;

/** A form action: busy while it runs, its problem shown until the next try. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setProblem(undefined);
    try {
      return await action();
    } catch (error) {
      setProblem(asProblem(error));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, run };
}

/** Debounces live refreshes: a burst of events for one thing causes one reload. */
export function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const current = useRef(fn);
  current.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => current.current(), ms);
  }, [ms]);
}

/** Re-renders every `ms` (the chart's time axis and "in 3 s" texts move on their own). */
export function useTick(ms: number) {
  const [, setNow] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
}
