import { isDatabaseUnavailable, type Executor, type Sql } from '../db/client.ts';

type Reserved = Awaited<ReturnType<Sql['reserve']>>;
/** A connection of the pool the lane holds, and its transactions not yet answered. */
type Held = { connection: Promise<Reserved>; open: number; retired: boolean };

/**
 * One connection for the batches decided from memory, each a transaction sent whole, BEGIN to
 * COMMIT, behind those already on it: PostgreSQL runs them one after the other, in the order they
 * were decided, while the service decides the next. A batch whose write fails (its fence, a key)
 * is rolled back by the COMMIT sent behind it, alone: the next one's BEGIN starts afresh.
 *
 * When the database is lost, the connection is retired: the next batch takes another, and the
 * retired one goes back to the pool only once every transaction sent on it is answered (handing
 * it back earlier would leave the statements queued on it unanswered for ever).
 */
export class StockLane {
  private held: Held | undefined;
  private client: Sql | undefined;
  private open = 0;

  /** `connect`: the lane's own client (`Database.lane`), made when the first batch is sent. */
  constructor(private readonly connect: () => Sql) {}

  /** Transactions sent and not yet answered. */
  get inFlight(): number {
    return this.open;
  }

  /**
   * Runs `send` in a transaction of its own. `send` must start every statement it sends before it
   * returns (nothing awaited in between), so that they go out between this BEGIN and this COMMIT.
   */
  async run<T>(send: (tx: Executor) => Promise<T>): Promise<T> {
    const held = (this.held ??= { connection: (this.client ??= this.connect()).reserve(), open: 0, retired: false });
    this.open++;
    held.open++;
    try {
      const tx = await held.connection;
      const begin = tx`BEGIN`.execute();
      let body: Promise<T>;
      try {
        body = send(tx);
      } catch (error) {
        body = Promise.reject(error);
      }
      const commit = tx`COMMIT`.execute();
      const [, result] = await Promise.all([begin, body, commit]);
      return result;
    } catch (error) {
      if (isDatabaseUnavailable(error)) this.retire(held);
      throw error;
    } finally {
      this.open--;
      held.open--;
      if (held.retired && held.open === 0) this.release(held);
    }
  }

  close() {
    if (this.held) this.retire(this.held);
  }

  private retire(held: Held) {
    if (this.held === held) this.held = undefined;
    held.retired = true;
    if (held.open === 0) this.release(held);
  }

  private release(held: Held) {
    void held.connection.then((tx) => tx.release()).catch(() => {});
  }
}
