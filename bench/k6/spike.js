// A spike on one product: a steady base rate, then a sudden peak, then back. Every answer must be
// a 202 (stored) or a 429 with Retry-After (back pressure), never an error, and the service must
// recover its latency after the peak. Tunables (env): BASE_RATE (200/s), PEAK_RATE (5000/s),
// PEAK_DURATION (20s), MAX_VUS (2000), STOCK, PRODUCT_ID.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { config, headers, orderBody, requireTokens, createProducts, summaryWriter, TREND_STATS } from './lib.js';

const accepted = new Counter('orders_accepted');
const rateLimited = new Rate('rate_limited');
const base = Number(__ENV.BASE_RATE || 200);
const peak = Number(__ENV.PEAK_RATE || 5000);

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: base,
      timeUnit: '1s',
      preAllocatedVUs: Number(__ENV.VUS || 200),
      maxVUs: Number(__ENV.MAX_VUS || 2000),
      stages: [
        { duration: '10s', target: base },
        { duration: '5s', target: peak },
        { duration: __ENV.PEAK_DURATION || '20s', target: peak },
        { duration: '5s', target: base },
        { duration: '15s', target: base },
      ],
    },
  },
  thresholds: {
    // 202 and 429 are both correct answers under a spike (see responseCallback below).
    http_req_failed: ['rate<0.01'],
    rate_limited: ['rate<0.10'],
    'http_req_duration{name:place order}': ['p(99)<2000'],
    checks: ['rate>0.99'],
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  requireTokens();
  return { productId: __ENV.PRODUCT_ID || createProducts('K6-SPIKE', 1, Number(__ENV.STOCK || 1000000000))[0] };
}

export default function (data) {
  const res = http.post(config.baseUrl + '/api/v1/orders', orderBody(data.productId, 'k6-spike-' + __VU), {
    headers: headers('client'),
    tags: { name: 'place order' },
    responseCallback: http.expectedStatuses(202, 429),
  });
  check(res, {
    'stored (202) or told when to retry (429 + Retry-After)': (r) =>
      r.status === 202 || (r.status === 429 && Number(r.headers['Retry-After']) > 0),
    'a 202 is a pending order': (r) => r.status !== 202 || r.json('status') === 'pending',
  });
  rateLimited.add(res.status === 429);
  if (res.status === 202) accepted.add(1);
}

export const handleSummary = summaryWriter('spike');
