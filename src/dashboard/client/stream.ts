import { asProblem, authHeaders, readProblem, type Problem } from './api.ts';
import { SseParser, type SseMessage } from './sse.ts';

export type StreamEvent = { id: string | undefined; type: string; data: Record<string, unknown> };
export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';
export type StreamState = { status: StreamStatus; problem?: Problem; lastEventId?: string };

type Handlers = {
  onOpen: () => void;
  onEvents: (events: StreamEvent[]) => void;
  onState: (state: StreamState) => void;
  /** 401/403: retrying cannot help. */
  onRefused: (problem: Problem) => void;
};

/** The server sends `retry: 2000`; until it has, wait as long. */
const DEFAULT_RETRY_MS = 2000;
/** The server sends a comment every 15 s; a connection silent for longer than this is dead. */
const SILENCE_MS = 45_000;

function parse(message: SseMessage): StreamEvent | undefined {
  try {
    return { id: message.id, type: message.event, data: JSON.parse(message.data) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * `GET /api/v1/events` read with fetch (the only way to send the bearer token), reconnecting for
 * as long as it runs. Each reconnect sends the last id received as `Last-Event-ID`, so a restart of
 * the service loses nothing: the server resumes right after that event.
 */
export class EventStream {
  private readonly stopped = new AbortController();
  private lastEventId: string | undefined;
  private retryMs = DEFAULT_RETRY_MS;

  constructor(
    private readonly token: string,
    private readonly handlers: Handlers,
  ) {}

  start() {
    void this.run();
  }

  stop() {
    this.stopped.abort();
  }

  private async run() {
    while (!this.stopped.signal.aborted) {
      let problem: Problem;
      try {
        problem = await this.connectOnce();
      } catch (error) {
        if (this.stopped.signal.aborted) return;
        problem = asProblem(error);
      }
      if (problem.status === 401 || problem.status === 403) {
        this.handlers.onState({ status: 'stopped', problem });
        this.handlers.onRefused(problem);
        return;
      }
      this.handlers.onState({ status: 'reconnecting', problem, lastEventId: this.lastEventId });
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  }

  /** One connection, read until it ends; returns why it ended. */
  private async connectOnce(): Promise<Problem> {
    const connection = new AbortController();
    const abort = () => connection.abort(new Error('stopped'));
    this.stopped.signal.addEventListener('abort', abort);
    let silence: ReturnType<typeof setTimeout> | undefined;
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(() => connection.abort(new Error(`nothing received for ${SILENCE_MS / 1000} s`)), SILENCE_MS);
    };
    try {
      const headers: Record<string, string> = { ...authHeaders(this.token), accept: 'text/event-stream' };
      if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
      watch();
      const response = await fetch('/api/v1/events', { headers, signal: connection.signal, cache: 'no-store' });
      if (!response.ok || !response.body) {
        const problem = await readProblem(response);
        // An id the server cannot resume from (the outbox was pruned): start from now instead.
        if (response.status === 422) this.lastEventId = undefined;
        return problem;
      }
      this.handlers.onState({ status: 'live', lastEventId: this.lastEventId });
      this.handlers.onOpen();
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        watch();
        const events = parser.push(chunk.value).flatMap((message) => {
          if (message.id !== undefined) this.lastEventId = message.id;
          return parse(message) ?? [];
        });
        if (parser.retryMs !== undefined) this.retryMs = parser.retryMs;
        if (events.length > 0) this.handlers.onEvents(events);
      }
      return { title: 'Disconnected', status: 0, detail: 'the service closed the event stream' };
    } finally {
      clearTimeout(silence);
      this.stopped.signal.removeEventListener('abort', abort);
    }
  }
}
