import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { spawnService } from './support/process.ts';
import { testEnv, tokens } from './support/service.ts';
import { settlesWithin } from './support/wait.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.drop());

describe('shutdown with event streams open', () => {
  test('SIGTERM ends open event streams and the process exits; it does not wait for them for ever', async () => {
    const service = await spawnService({ ...testEnv, DATABASE_URL: db.url, NODE_ID: 'events-shutdown', LOG_LEVEL: 'warn', DATA_DIR: '.test-data/events-shutdown' });
    try {
      // An established subscription (one that races the signal is ended as it starts): it has
      // delivered an event, read from the start of the outbox.
      await db.sql`INSERT INTO events (changes) VALUES (${JSON.stringify([{ type: 'test.marker', name: 'established' }])}::jsonb)`;
      const response = await fetch(`${service.base}/api/v1/events`, { headers: { authorization: `Bearer ${tokens.client}`, 'last-event-id': '0-0-0' } });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let received = '';
      const readUntil = async (text: string) => {
        while (!received.includes(text)) {
          const chunk = await reader.read();
          if (chunk.done) throw new Error(`the stream ended before "${text}": ${received}`);
          received += decoder.decode(chunk.value);
        }
      };
      await settlesWithin(readUntil('event: test.marker'), 5000, 'the stream to deliver the marker event');
      expect(received).toContain('retry:');
      const ended = (async () => {
        try {
          while (!(await reader.read()).done);
        } catch {
          // a reset connection ends the stream too
        }
      })();
      service.proc.kill('SIGTERM');
      const outcome = await settlesWithin(service.proc.exited, 8000, 'the process to exit after SIGTERM').catch((error: unknown) => {
        console.log(service.output());
        throw error;
      });
      if (outcome !== 0) console.log(service.output());
      expect(outcome).toBe(0);
      await ended;
    } finally {
      service.proc.kill('SIGKILL');
      await service.proc.exited;
    }
  }, 20_000);
});
