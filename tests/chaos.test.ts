import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chaosPostgres, type ChaosPostgres } from '../bench/chaos/postgres.ts';
import { verdict } from '../bench/chaos/report.ts';
import { runRound, scenarioNames } from '../bench/chaos/scenarios.ts';

/**
 * One short round of each `bun run chaos` scenario, on a PostgreSQL of its own (an embedded
 * server in a temporary directory: this file kills it, so never the suite's shared one): the
 * process survives, nothing accepted is lost, stuck, oversold or charged twice, and service
 * resumes promptly. `bun run chaos --rounds 15` is the long version.
 */
const REQUEST_TIMEOUT_MS = 1000;
let pg: ChaosPostgres;
beforeAll(async () => {
  pg = await chaosPostgres(undefined, {});
}, 60_000);
afterAll(async () => {
  await pg?.close();
}, 30_000);

const options = {
  clients: 8,
  loadS: 1,
  downS: 1,
  pauseS: 2.5,
  settleS: 30,
  serviceEnv: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), BODY_READ_TIMEOUT_MS: '500' },
};
const tokens = { admin: 'chaos-test-admin', client: 'chaos-test-client' };

describe('chaos, one short round of each', () => {
  for (const name of scenarioNames) {
    test(
      name,
      async () => {
        const result = await runRound(name, 1, pg, tokens, options);
        expect(result.accepted).toBeGreaterThan(20);
        expect({ problems: verdict(result, { requestTimeoutMs: REQUEST_TIMEOUT_MS }), note: result.note }).toEqual({ problems: [], note: result.note });
      },
      90_000,
    );
  }
});
