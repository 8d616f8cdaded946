import { isDatabaseUnavailable, type Executor, type Sql } from '../db/client.ts';

type Reserved = Awaited<ReturnType<Sql['reserve']>>;

/**
 * One connection for the batches decided from memory, each a transaction sent whole, BEGIN to
 * COMMIT, behind those already on it: PostgreSQL runs them one after the other, in the order they
 * were decided, while the service decides the next. A batch whose write fails (its fence, a key)
 * is rolled back by the COMMIT sent behind it, alone: the next one's BEGIN starts afresh. The
 * connection is given up when the database is lost, and another is taken for the next batch.
 */
export class StockLane {
  private connection: Promise<Reserved> | undefined;
  private open = 0;

  constructor(private readonly sql: Sql) {}

  /** Transactions sent and not yet answered. */
  get inFlight(): number {
    return this.open;
  }

  /**
   * Runs `send` in a transaction of its own. `send` must start every statement it sends before it
   * returns (nothing awaited in between), so that they go out between this BEGIN and this COMMIT.
   */
  async run<T>(send: (tx: Executor) => Promise<T>): Promise<T> {
    this.open++;
    try {
      const tx = await (this.connection ??= this.sql.reserve());
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
      if (isDatabaseUnavailable(error)) this.drop();
      throw error;
    } finally {
      this.open--;
    }
  }

  close() {
    this.drop();
  }

  private drop() {
    const connection = this.connection;
    this.connection = undefined;
    void connection?.then((tx) => tx.release()).catch(() => {});
  }
}
