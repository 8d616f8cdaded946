import { afterAll, beforeAll } from 'bun:test';
import { startTestCluster, stopTestCluster } from './support/cluster.ts';

// Global hooks (preload): one Postgres for the whole run, one database per test file.
beforeAll(async () => {
  await startTestCluster();
}, 120_000);

afterAll(async () => {
  await stopTestCluster();
}, 60_000);
