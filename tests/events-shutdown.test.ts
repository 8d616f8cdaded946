import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { spawnService } from './support/process.ts';
import { testEnv, tokens } from './support/service.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.drop());

describe('shutdown with event streams open', () => {
  test('SIGTERM ends open event streams and the process exits; it does not wait for them for ever', async () => {
    const service = await spawnService({ ...testEnv, DATABASE_URL: db.url, NODE_ID: 'events-shutdown', LOG_LEVEL: 'warn', DATA_DIR: '.test-data/events-shutdown' });
    try {
      const response = await fetch(`${service.base}/api/v1/events`, { headers: { authorization: `Bearer ${tokens.client}` } });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('retry:');
      await Bun.sleep(300); // an established subscription (one that races the signal is ended as it starts)
      const ended = (async () => {
        try {
          while (!(await reader.read()).done);
        } catch {
          // a reset connection ends the stream too
        }
      })();
      service.proc.kill('SIGTERM');
      const outcome = await Promise.race([service.proc.exited, Bun.sleep(8000).then(() => 'still running')]);
      if (outcome !== 0) console.log(service.output());
      expect(outcome).toBe(0);
      await ended;
    } finally {
      service.proc.kill('SIGKILL');
      await service.proc.exited;
    }
  }, 20_000);
});
