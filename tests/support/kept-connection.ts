import net from 'node:net';

/**
 * One HTTP/1.1 connection kept open, its requests sent one after the other: with several
 * processes on one port (WORKERS) the kernel picks a process per connection, so a test that
 * asks `/health` on it first knows which node serves everything else sent on it. (`fetch` pools
 * its connections and does not say which one a request used.) Answers need a Content-Length,
 * which every answer of the service has.
 */
export class KeptConnection {
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (response: Response) => void; reject: (error: Error) => void } | undefined;
  private closed: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
    const fail = (error?: Error) => {
      this.closed = error ?? new Error('the server closed the connection');
      this.waiting?.reject(this.closed);
      this.waiting = undefined;
    };
    socket.on('close', () => fail());
    socket.on('error', fail);
  }

  static open(port: number): Promise<KeptConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new KeptConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** A `fetch`-like handler for `new Api(...)`: the request goes over this connection. */
  readonly handle = async (request: Request): Promise<Response> => {
    if (this.closed) throw this.closed;
    if (this.waiting) throw new Error('one request at a time on a kept connection');
    const body = Buffer.from(await request.arrayBuffer());
    const url = new URL(request.url);
    const head = [`${request.method} ${url.pathname}${url.search} HTTP/1.1`, 'host: 127.0.0.1', `content-length: ${body.length}`];
    request.headers.forEach((value, name) => head.push(`${name}: ${value}`));
    const answered = new Promise<Response>((resolve, reject) => (this.waiting = { resolve, reject }));
    this.socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
    return answered;
  };

  close() {
    this.socket.destroy();
  }

  private deliver() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1 || !this.waiting) return;
    const [statusLine = '', ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = new Headers(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
    const length = Number(headers.get('content-length'));
    if (!Number.isInteger(length)) return this.waiting.reject(new Error(`an answer without Content-Length: ${statusLine}`));
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.subarray(end + 4, end + 4 + length);
    this.buffer = this.buffer.subarray(end + 4 + length);
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(new Response(body.length > 0 ? body : null, { status: Number(statusLine.split(' ')[1]), headers }));
  }
}
