// One hot SKU at a constant arrival rate: every order for the same product.
//   k6 run -e BASE_URL=http://localhost:3000 -e ADMIN_TOKEN=… -e CLIENT_TOKEN=… bench/k6/hot-sku.js
// Tunables (env): RATE (orders/s, 2000), DURATION (30s), VUS (200), MAX_VUS (1000), STOCK, PRODUCT_ID.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { config, headers, orderBody, requireTokens, createProducts, summaryWriter, TREND_STATS } from './lib.js';

const accepted = new Counter('orders_accepted');

export const options = {
  scenarios: {
    hot_sku: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 2000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: Number(__ENV.VUS || 200),
      maxVUs: Number(__ENV.MAX_VUS || 1000),
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:place order}': ['p(95)<50', 'p(99)<100'],
    checks: ['rate>0.99'],
    orders_accepted: ['count>0'],
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  requireTokens();
  const productId = __ENV.PRODUCT_ID || createProducts('K6-HOT', 1, Number(__ENV.STOCK || 1000000000))[0];
  return { productId: productId };
}

export default function (data) {
  const res = http.post(config.baseUrl + '/api/v1/orders', orderBody(data.productId, 'k6-hot-' + __VU), {
    headers: headers('client'),
    tags: { name: 'place order' },
  });
  const ok = check(res, {
    'order accepted (202)': (r) => r.status === 202,
    'stored as pending': (r) => r.status === 202 && r.json('status') === 'pending',
    'Location names the order': (r) => r.status === 202 && r.headers['Location'] === '/api/v1/orders/' + r.json('id'),
  });
  if (ok) accepted.add(1);
}

export const handleSummary = summaryWriter('hot-sku');
