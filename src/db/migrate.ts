import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PgCode, pgCode, type Sql } from './client.ts';
import { analyseAfterMigrations } from './statistics.ts';
import { backoffMs, type Backoff } from '../lib/backoff.ts';

/**
 * Applies drizzle-kit's migrations (drizzle/meta/_journal.json), one transaction per migration, and
 * records them in drizzle's own table so `drizzle-kit migrate` agrees on what has run.
 *
 * Unlike drizzle's runtime migrator (all pending migrations in one transaction) each migration
 * commits on its own, and one that gives up on a lock (`lock_timeout`) is retried with backoff
 * instead of failing start-up: a zero-downtime migration waits for a quiet moment, it never makes
 * traffic wait for it.
 */
export type Migration = { tag: string; when: number; hash: string; statements: string[] };

export type MigrateOptions = {
  folder?: string;
  /** Apply migrations up to and including this tag (tests run old code on an old schema). */
  upTo?: string;
  /**
   * Apply only these migrations, each unless its own hash is recorded: out of the journal's order
   * (a test rehearses one expand step under traffic on an otherwise current schema).
   */
  tags?: string[];
  lockRetries?: number;
  log?: (message: string) => void;
};

const DEFAULT_FOLDER = path.resolve(import.meta.dir, '../../drizzle');
const MIGRATION_LOCK = [0x53_54_4b, 1] as const; // ("STK", 1): one migrator at a time
/** A migration that gave up on a lock waits for a quieter moment: soon at first, up to 10 s apart. */
const LOCK_RETRY: Backoff = { baseMs: 250, maxMs: 10_000 };

export async function readMigrations(folder = DEFAULT_FOLDER): Promise<Migration[]> {
  const journal = JSON.parse(await readFile(path.join(folder, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  return Promise.all(
    journal.entries.map(async ({ tag, when }) => {
      const text = await readFile(path.join(folder, `${tag}.sql`), 'utf8');
      return {
        tag,
        when,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter((s) => s.replace(/^\s*--.*$/gm, '').trim().length > 0),
      };
    }),
  );
}

export async function migrate(sql: Sql, options: MigrateOptions = {}): Promise<string[]> {
  const log = options.log ?? (() => {});
  const all = await readMigrations(options.folder);
  const wanted = options.tags
    ? all.filter((m) => options.tags!.includes(m.tag))
    : options.upTo === undefined
      ? all
      : all.slice(0, all.findIndex((m) => m.tag === options.upTo) + 1);
  if (wanted.length === 0) throw new Error(`unknown migration tag ${options.upTo ?? options.tags?.join(', ')}`);

  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK[0]}, ${MIGRATION_LOCK[1]})`;
    await tx`CREATE SCHEMA IF NOT EXISTS drizzle`;
    await tx`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`;
  });
  const applied: string[] = [];
  for (const migration of wanted) {
    if (await applyWithRetry(sql, migration, options.lockRetries ?? 30, log, options.tags !== undefined)) {
      applied.push(migration.tag);
      log(`applied migration ${migration.tag}`);
    }
  }
  // Plans are made from statistics: none must be made from a schema's or a table's absence of them.
  await analyseAfterMigrations(sql, applied.length > 0);
  return applied;
}

/** Runs one migration in its own transaction; false when another process applied it first. */
async function applyWithRetry(sql: Sql, migration: Migration, retries: number, log: (m: string) => void, byHash: boolean): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin(async (tx) => {
        // Several processes may start at once: the lock makes them apply each migration once, in order.
        await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK[0]}, ${MIGRATION_LOCK[1]})`;
        // A migration may rewrite a large table: the pool's statement timeout is for requests, not this.
        await tx`SET LOCAL statement_timeout = 0`;
        // As drizzle-kit decides: applied when a migration at least as recent is recorded.
        const [done] = byHash
          ? await tx`SELECT 1 FROM drizzle.__drizzle_migrations WHERE hash = ${migration.hash} LIMIT 1`
          : await tx`SELECT 1 FROM drizzle.__drizzle_migrations WHERE created_at >= ${migration.when} LIMIT 1`;
        if (done) return false;
        for (const statement of migration.statements) await tx.unsafe(statement);
        await tx`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${migration.hash}, ${migration.when})`;
        return true;
      });
    } catch (error) {
      if (pgCode(error) !== PgCode.lockNotAvailable || attempt > retries) throw error;
      const delay = backoffMs(attempt, LOCK_RETRY);
      log(`migration ${migration.tag} could not take its locks in time (attempt ${attempt}); retrying in ${Math.round(delay)} ms`);
      await Bun.sleep(delay);
    }
  }
}
