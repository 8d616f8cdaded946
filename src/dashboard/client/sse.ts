export type SseMessage = { id: string | undefined; event: string; data: string };

/**
 * Incremental `text/event-stream` parser (WHATWG HTML, "Interpreting an event stream"). EventSource
 * cannot send an Authorization header, so the dashboard reads the stream with fetch and parses it
 * here. Chunks may split lines anywhere, including between the CR and LF of a line ending.
 */
export class SseParser {
  /** The `retry:` the server asked for, in milliseconds. */
  retryMs: number | undefined;
  private buffer = '';
  private afterCr = false;
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  push(chunk: string): SseMessage[] {
    if (chunk === '') return [];
    // The LF of a CRLF whose CR ended the previous chunk.
    this.buffer += this.afterCr && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
    this.afterCr = false;
    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      const message = this.line(this.buffer.slice(start, i));
      if (message) messages.push(message);
      if (char === '\r' && i === this.buffer.length - 1) this.afterCr = true;
      else if (char === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message = this.data.length > 0 ? { id: this.id, event: this.event || 'message', data: this.data.join('\n') } : undefined;
    this.data = [];
    this.event = '';
    return message;
  }
}
