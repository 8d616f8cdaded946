import type { Socket, TCPSocketListener } from 'bun';

type Pair = { client: Socket<Side>; server?: Socket<Side>; toServer: Uint8Array[]; toClient: Uint8Array[] };
type Side = { pair: Pair };

/**
 * A TCP relay in front of PostgreSQL that a test can break on purpose, without touching the
 * server the other test files share:
 * - `down()`: every connection is cut and new ones are refused (a crashed or stopped server);
 * - `reset()`: every connection is reset, new ones are accepted;
 * - `pause()`: connections stay open but nothing flows either way (a server frozen by SIGSTOP,
 *   or a network that swallows packets); `resume()` delivers what was held.
 */
export class PgProxy {
  private listener: TCPSocketListener<Side> | undefined;
  private readonly pairs = new Set<Pair>();
  private paused = false;
  port = 0;

  private constructor(
    private readonly target: { hostname: string; port: number },
  ) {}

  static async start(targetUrl: string): Promise<PgProxy> {
    const url = new URL(targetUrl);
    const proxy = new PgProxy({ hostname: url.hostname, port: Number(url.port || 5432) });
    proxy.listen(0);
    return proxy;
  }

  /** `targetUrl` with its host and port replaced by the relay's. */
  urlFor(targetUrl: string): string {
    const url = new URL(targetUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  down() {
    this.listener?.stop(true);
    this.listener = undefined;
    for (const pair of this.pairs) this.drop(pair);
  }

  /** Every connection reset (RST to the client): the driver sees a socket error, then the close. */
  reset() {
    for (const pair of this.pairs) {
      this.pairs.delete(pair);
      pair.client.terminate();
      pair.server?.end();
    }
  }

  up() {
    if (!this.listener) this.listen(this.port);
  }

  pause() {
    this.paused = true;
  }

  resume() {
    this.paused = false;
    for (const pair of this.pairs) this.flush(pair);
  }

  stop() {
    this.down();
  }

  private listen(port: number) {
    const proxy = this;
    this.listener = Bun.listen<Side>({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(client) {
          const pair: Pair = { client, toServer: [], toClient: [] };
          client.data = { pair };
          proxy.pairs.add(pair);
          void Bun.connect<Side>({
            hostname: proxy.target.hostname,
            port: proxy.target.port,
            socket: {
              open(server) {
                server.data = { pair };
                pair.server = server;
                proxy.flush(pair);
              },
              data(_server, bytes) {
                pair.toClient.push(new Uint8Array(bytes));
                proxy.flush(pair);
              },
              drain() {
                proxy.flush(pair);
              },
              close() {
                proxy.drop(pair);
              },
              error() {
                proxy.drop(pair);
              },
            },
          }).catch(() => proxy.drop(pair));
        },
        data(client, bytes) {
          client.data.pair.toServer.push(new Uint8Array(bytes));
          proxy.flush(client.data.pair);
        },
        drain(client) {
          proxy.flush(client.data.pair);
        },
        close(client) {
          proxy.drop(client.data.pair);
        },
        error(client) {
          proxy.drop(client.data.pair);
        },
      },
    });
    this.port = this.listener.port;
  }

  private flush(pair: Pair) {
    if (this.paused || !pair.server) return;
    send(pair.server, pair.toServer);
    send(pair.client, pair.toClient);
  }

  private drop(pair: Pair) {
    if (!this.pairs.delete(pair)) return;
    pair.client.end();
    pair.server?.end();
  }
}

/** Writes what the socket takes now; the rest waits for its `drain`. */
function send(socket: Socket<Side>, queue: Uint8Array[]) {
  while (queue.length > 0) {
    const chunk = queue[0]!;
    const written = socket.write(chunk);
    if (written >= chunk.length) {
      queue.shift();
      continue;
    }
    queue[0] = chunk.subarray(Math.max(0, written));
    return;
  }
}
