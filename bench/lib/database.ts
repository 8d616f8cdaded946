import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { connect, type Database } from '../../src/db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';

const TEMPLATE = 'stockroom_bench_template';

export type ScenarioDatabase = Database & { name: string; drop(): Promise<void> };

/**
 * The bench's PostgreSQL: the server in DATABASE_URL, or an embedded one in a temporary directory.
 * Each scenario gets a new database cloned from a migrated template, so no scenario sees the rows of
 * another and every one starts on empty tables.
 */
export class BenchPostgres {
  private constructor(
    readonly serverUrl: string,
    readonly kind: 'embedded' | 'DATABASE_URL',
    private readonly embedded: EmbeddedPostgres | undefined,
    private readonly tempDir: string | undefined,
  ) {}

  static async start(databaseUrl: string | undefined, log: (message: string) => void): Promise<BenchPostgres> {
    let bench: BenchPostgres;
    if (databaseUrl) bench = new BenchPostgres(databaseUrl, 'DATABASE_URL', undefined, undefined);
    else {
      const tempDir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-bench-'));
      // As root the server runs as `postgres`, which must reach the cluster inside this directory.
      await chmod(tempDir, 0o755);
      const embedded = await startEmbeddedPostgres(tempDir, log);
      bench = new BenchPostgres(embedded.url, 'embedded', embedded, tempDir);
    }
    await bench.admin(async (sql) => {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
      await sql.unsafe(`CREATE DATABASE ${TEMPLATE}`);
    });
    const template = connect(bench.urlOf(TEMPLATE), { max: 2 });
    try {
      await migrate(template.sql);
    } finally {
      await template.close();
    }
    return bench;
  }

  /** The embedded server's postmaster (for CPU accounting); null for a server elsewhere. */
  postmasterPid(): number | null {
    return this.embedded?.pid ?? null;
  }

  urlOf(name: string): string {
    const url = new URL(this.serverUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async fresh(scenario: string): Promise<ScenarioDatabase> {
    const name = `stockroom_bench_${scenario.replace(/\W/g, '_')}_${Date.now().toString(36)}`;
    await this.admin((sql) => sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`));
    // The checks read every order of a million-order run: no statement timeout for them.
    const database = connect(this.urlOf(name), { max: 4, applicationName: 'stockroom-bench', statementTimeoutMs: 0 });
    return {
      ...database,
      name,
      drop: async () => {
        await database.close(1);
        await this.admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      },
    };
  }

  async stop(): Promise<void> {
    await this.admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`)).catch(() => {});
    await this.embedded?.stop();
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
  }

  private async admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const sql = postgres(this.serverUrl, { max: 1, onnotice: () => {} });
    try {
      return await work(sql);
    } finally {
      await sql.end();
    }
  }
}
