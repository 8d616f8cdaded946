import type { Sql } from '../db/client.ts';
import { withDeadline } from '../lib/deadline.ts';

/** Advisory-lock namespace of the scheduler ("JOB"), with one key per job name. */
const LOCK_NAMESPACE = 0x4a4f42;

function jobLockKey(name: string): number {
  let hash = 0;
  for (const char of name) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

type Reserved = Awaited<ReturnType<Sql['reserve']>>;

export type JobLockOptions = { acquireTimeoutMs: number; keepAliveMs: number };

/**
 * "This job runs nowhere else now", held by one connection in an open transaction with
 * `pg_try_advisory_xact_lock`. A transaction (not a session lock) so that the server lets go on
 * its own when the holder stops talking: the pool's `idle_in_transaction_session_timeout` ends
 * the session of a process that froze or lost its connection, and a live holder sends a
 * keep-alive statement well inside that timeout. The transaction writes nothing, so it has no
 * transaction id and holds back neither vacuum nor the event stream.
 */
export class JobLock {
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private released: Promise<void> | undefined;

  private constructor(
    private readonly connection: Reserved,
    private readonly options: JobLockOptions,
  ) {}

  /** The lock, or undefined when another run holds it. Every path lets go of the connection. */
  static async take(sql: Sql, name: string, options: JobLockOptions): Promise<JobLock | undefined> {
    const reserving = sql.reserve();
    let connection: Reserved;
    try {
      connection = await withDeadline(reserving, options.acquireTimeoutMs, 'a connection for the job lock');
    } catch (error) {
      reserving.then((late) => late.release(), () => {});
      throw error;
    }
    const lock = new JobLock(connection, options);
    try {
      await withDeadline(connection`BEGIN`.execute(), options.acquireTimeoutMs, 'BEGIN');
      const [row] = await withDeadline(
        connection<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${jobLockKey(name)}) AS locked`.execute(),
        options.acquireTimeoutMs,
        'the job lock',
      );
      if (row?.locked) {
        lock.keepAlive = setInterval(() => void connection`SELECT 1`.execute().catch(() => {}), options.keepAliveMs);
        return lock;
      }
      lock.release();
      return undefined;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /**
   * Holds the lock until `work` settles, but no longer than `maxMs`: a run that never ends must
   * not keep the job from running for ever (past `maxMs` the keep-alive stops and the server ends
   * the idle transaction). Resolves once the lock is let go.
   */
  holdUntil(work: Promise<unknown>, maxMs: number): Promise<void> {
    const cap = setTimeout(() => void this.release(), maxMs);
    return work
      .then(
        () => {},
        () => {},
      )
      .then(() => {
        clearTimeout(cap);
        return this.release();
      });
  }

  /** Ends the transaction (and with it the lock); the connection goes back to the pool. Never rejects. */
  release(): Promise<void> {
    if (this.released) return this.released;
    clearInterval(this.keepAlive);
    const connection = this.connection;
    this.released = withDeadline(connection`ROLLBACK`.execute(), this.options.acquireTimeoutMs, 'ROLLBACK')
      .then(
        () => {},
        () => {},
      )
      .finally(() => connection.release());
    return this.released;
  }
}
