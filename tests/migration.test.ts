import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { migrate, readMigrations } from '../src/db/migrate.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { createProduct, startTestService, uniqueSku, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

const LOCK_TIMEOUT_MS = 1000; // drizzle/0001_categories.sql

/**
 * The schema as it stands, but for the categories: this code ran on it before 0001 was applied
 * (0003, the order lifecycle, is not an expand step: this code needs it).
 */
const allButCategories = async () => (await readMigrations()).map((m) => m.tag).filter((tag) => tag !== '0001_categories');

let db: TestDatabase;
let old: TestService;
beforeAll(async () => {
  db = await freshDatabase({ tags: await allButCategories() });
  old = await startTestService({}, { db });
});
afterAll(async () => {
  await old.close();
  await db.drop();
});

describe('categories migration (expand step, no downtime)', () => {
  test(
    'applied under live traffic and behind a long transaction: no request fails or waits past the lock timeout',
    async () => {
      expect(old.service.capabilities.categories).toBe(false);
      const seed = await createProduct(old.api, { initialStock: 1 });
      const busy = await createProduct(old.api);

      // A long transaction (a report, a batch job) that holds a write lock on "products".
      const blocker = postgres(db.url, { max: 1, onnotice: () => {} });
      let releaseBlocker!: () => void;
      const blockerDone = blocker.begin(async (tx) => {
        await tx`UPDATE products SET description = 'being edited' WHERE id = ${busy.id}`;
        await new Promise<void>((resolve) => (releaseBlocker = resolve));
      });

      const latencies: number[] = [];
      const failures: string[] = [];
      let running = true;
      const client = async (n: number) => {
        let i = 0;
        while (running) {
          const started = performance.now();
          const step = i++ % 3;
          const reply =
            step === 0
              ? await old.api.post('/api/v1/products', { sku: uniqueSku(`MIG${n}`), name: `During migration ${n}`, price: '1.00', initialStock: 1 })
              : step === 1
                ? await old.api.get(`/api/v1/products/${seed.id}`, 'anonymous')
                : await old.api.patch(`/api/v1/products/${seed.id}`, { name: `Renamed by ${n}/${i}` });
          latencies.push(performance.now() - started);
          if (reply.status >= 300) failures.push(`${reply.status} ${JSON.stringify(reply.body)}`);
          await Bun.sleep(5); // the scenario: steady traffic from eight clients, not synchronisation
        }
      };
      const clients = Array.from({ length: 8 }, (_, n) => client(n));

      await waitFor(() => latencies.length >= 20, 10_000, 'traffic under way');
      const migrationLog: string[] = [];
      const migrator = postgres(db.url, { max: 2, onnotice: () => {} });
      const migration = migrate(migrator, { tags: ['0001_categories'], log: (m) => migrationLog.push(m) });
      // The migration gives up on its lock, more than once, while the long transaction runs (and the traffic goes on).
      const gaveUp = () => migrationLog.filter((m) => m.includes('could not take its locks in time')).length;
      await waitFor(() => gaveUp() >= 2, 15_000, 'the migration to give up on its lock twice');
      releaseBlocker();
      await blockerDone;
      const applied = await migration;
      const servedBefore = latencies.length;
      await waitFor(() => latencies.length >= servedBefore + 50, 10_000, 'traffic on the migrated schema');
      running = false;
      await Promise.all(clients);
      await blocker.end();
      await migrator.end();

      expect(applied).toEqual(['0001_categories']);
      expect(migrationLog.some((m) => m.includes('could not take its locks in time'))).toBe(true);
      expect(failures).toEqual([]);
      expect(latencies.length).toBeGreaterThan(100);
      expect(Math.max(...latencies)).toBeLessThan(LOCK_TIMEOUT_MS + 400);

      // The old code keeps working on the new schema...
      const after = await old.api.post('/api/v1/products', { sku: uniqueSku('AFTER'), name: 'After', price: '2.00' });
      expect(after.status).toBe(201);
      expect(after.body.categories).toEqual([]);
      // ...and a process started on it serves categories.
      const fresh = await startTestService({}, { db });
      try {
        expect(fresh.service.capabilities.categories).toBe(true);
        const category = await fresh.api.post('/api/v1/categories', { name: 'Added later' });
        expect(category.status).toBe(201);
        const tagged = await fresh.api.put(`/api/v1/products/${after.body.id}/categories`, { categoryIds: [category.body.id] });
        expect(tagged.body.categories).toEqual([{ id: category.body.id, name: 'Added later' }]);
        expect((await old.api.get(`/api/v1/products/${after.body.id}`)).status).toBe(200);
      } finally {
        await fresh.close();
      }
    },
    60_000,
  );

  test('the migration changed no existing column', async () => {
    const columns = await db.sql`
      SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name IN ('products', 'inventory_levels', 'stock_movements') ORDER BY table_name, ordinal_position`;
    const reference = await freshDatabase({ tags: await allButCategories() });
    try {
      const before = await reference.sql`
        SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name IN ('products', 'inventory_levels', 'stock_movements') ORDER BY table_name, ordinal_position`;
      expect([...columns]).toEqual([...before]);
    } finally {
      await reference.drop();
    }
  });
});
