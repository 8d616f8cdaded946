// One hot SKU at a constant arrival rate: every order for the same product.
//   k6 run -e BASE_URL=http://localhost:3000 -e ADMIN_TOKEN=… -e CLIENT_TOKEN=… bench/k6/hot-sku.js
// Environment (defaults in brackets):
//   RATE [2000] orders per second; DURATION [30s];
//   VUS [RATE × 0.1 s, at least 10] pre-allocated VUs; MAX_VUS [RATE × 0.5 s];
//   MAX_DROPPED_RATIO [0.01] share of scheduled iterations k6 may drop before the run fails;
//   STOCK [1000000000] units of the product setup creates; PRODUCT_ID [none] order an existing product instead;
//   BASE_URL, ADMIN_TOKEN, CLIENT_TOKEN, SUMMARY_DIR, PWD (see lib.js and bench/README.md).
import { Counter } from 'k6/metrics';
import { arrivalRateVUs, checkAccepted, createProducts, droppedIterations, numberEnv, placeOrder, PLACE_ORDER_LATENCY, requireTokens, seconds, TREND_STATS } from './lib.js';
import { summaryWriter } from './summary.js';

const accepted = new Counter('orders_accepted');
const rate = numberEnv('RATE', 2000);
const duration = __ENV.DURATION || '30s';
const vus = arrivalRateVUs(rate);

export const options = {
  scenarios: {
    hot_sku: {
      executor: 'constant-arrival-rate',
      rate: rate,
      timeUnit: '1s',
      duration: duration,
      preAllocatedVUs: vus.preAllocatedVUs,
      maxVUs: vus.maxVUs,
    },
  },
  // Scoped to the scenario (or the place-order tag), so setup's requests never count.
  thresholds: {
    'http_req_failed{scenario:hot_sku}': ['rate<0.01'],
    [PLACE_ORDER_LATENCY]: ['p(95)<50', 'p(99)<100'],
    checks: ['rate>0.99'],
    dropped_iterations: droppedIterations(rate * seconds(duration)),
    orders_accepted: ['count>0'],
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  requireTokens();
  return { productId: __ENV.PRODUCT_ID || createProducts('K6-HOT', 1, numberEnv('STOCK', 1000000000))[0] };
}

export default function (data) {
  if (checkAccepted(placeOrder(data.productId, 'k6-hot-' + __VU))) accepted.add(1);
}

export const handleSummary = summaryWriter('hot-sku');
