// A spike on one product: a steady base rate, then a sudden peak, then back. Every answer must be
// a 202 (stored) or a 429 with Retry-After (back pressure), never an error, and the service must
// keep up: iterations k6 had to drop (no VU free, because answers came too slowly) fail the run.
//   k6 run -e BASE_URL=http://localhost:3000 -e ADMIN_TOKEN=… -e CLIENT_TOKEN=… bench/k6/spike.js
// Environment (defaults in brackets):
//   BASE_RATE [200] orders per second before and after; PEAK_RATE [5000]; PEAK_DURATION [20s];
//   VUS [PEAK_RATE × 0.1 s, at least 10] pre-allocated VUs; MAX_VUS [PEAK_RATE × 0.5 s];
//   MAX_DROPPED_RATIO [0.01] share of scheduled iterations k6 may drop before the run fails;
//   STOCK [1000000000] units of the product setup creates; PRODUCT_ID [none] order an existing product instead;
//   BASE_URL, ADMIN_TOKEN, CLIENT_TOKEN, SUMMARY_DIR, PWD (see lib.js and bench/README.md).
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { ACCEPTED_STATES, arrivalRateVUs, createProducts, droppedIterations, numberEnv, placeOrder, PLACE_ORDER_LATENCY, requireTokens, scheduledIterations, TREND_STATS } from './lib.js';
import { summaryWriter } from './summary.js';

const accepted = new Counter('orders_accepted');
const rateLimited = new Rate('rate_limited');
const base = numberEnv('BASE_RATE', 200);
const peak = numberEnv('PEAK_RATE', 5000);
const vus = arrivalRateVUs(peak);
const stages = [
  { duration: '10s', target: base },
  { duration: '5s', target: peak },
  { duration: __ENV.PEAK_DURATION || '20s', target: peak },
  { duration: '5s', target: base },
  { duration: '15s', target: base },
];

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: base,
      timeUnit: '1s',
      preAllocatedVUs: vus.preAllocatedVUs,
      maxVUs: vus.maxVUs,
      stages: stages,
    },
  },
  thresholds: {
    // 202 and 429 are both correct answers under a spike (see responseCallback below); setup's
    // requests are outside the scenario and never count.
    'http_req_failed{scenario:spike}': ['rate<0.01'],
    rate_limited: ['rate<0.10'],
    [PLACE_ORDER_LATENCY]: ['p(99)<2000'],
    checks: ['rate>0.99'],
    dropped_iterations: droppedIterations(scheduledIterations(base, stages)),
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  requireTokens();
  return { productId: __ENV.PRODUCT_ID || createProducts('K6-SPIKE', 1, numberEnv('STOCK', 1000000000))[0] };
}

export default function (data) {
  const res = placeOrder(data.productId, 'k6-spike-' + __VU, 1, { responseCallback: http.expectedStatuses(202, 429) });
  check(res, {
    'stored (202) or told when to retry (429 + Retry-After)': (r) =>
      r.status === 202 || (r.status === 429 && Number(r.headers['Retry-After']) > 0),
    'a 202 is reserved or pending': (r) => r.status !== 202 || ACCEPTED_STATES.indexOf(r.json('status')) >= 0,
  });
  rateLimited.add(res.status === 429);
  if (res.status === 202) accepted.add(1);
}

export const handleSummary = summaryWriter('spike');
