// A mixed shop workload: shoppers browse the catalog, place an order, read it back and its log,
// and some cancel it.
//   k6 run -e BASE_URL=http://localhost:3000 -e ADMIN_TOKEN=… -e CLIENT_TOKEN=… bench/k6/shop-mix.js
// Environment (defaults in brackets):
//   VUS [50] shoppers (a ramping-vus scenario: each VU is one shopper, not a pre-allocation);
//   DURATION [60s] at full strength, after a 15 s ramp up and before a 10 s ramp down;
//   PRODUCTS [20] products setup creates; THINK_TIME [1] seconds between steps (0.5× to 1.5×);
//   CANCEL_RATIO [0.2] share of orders cancelled;
//   BASE_URL, ADMIN_TOKEN, CLIENT_TOKEN, SUMMARY_DIR, PWD (see lib.js and bench/README.md).
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { ACCEPTED_STATES, config, createProducts, headers, numberEnv, ORDER_STATES, placeOrder, PLACE_ORDER_LATENCY, requireTokens, TREND_STATS } from './lib.js';
import { summaryWriter } from './summary.js';

const placed = new Counter('orders_placed');
const cancelled = new Counter('orders_cancelled');
const thinkTime = numberEnv('THINK_TIME', 1);
const cancelRatio = numberEnv('CANCEL_RATIO', 0.2);
const vus = numberEnv('VUS', 50);

export const options = {
  scenarios: {
    shoppers: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '15s', target: vus },
        { duration: __ENV.DURATION || '60s', target: vus },
        { duration: '10s', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  // Scoped to the scenario (or a tag or group), so setup's requests never count.
  thresholds: {
    'http_req_failed{scenario:shoppers}': ['rate<0.01'],
    [PLACE_ORDER_LATENCY]: ['p(95)<300', 'p(99)<800'],
    'http_req_duration{group:::browse}': ['p(95)<200', 'p(99)<500'],
    'http_req_duration{group:::order}': ['p(95)<300', 'p(99)<800'],
    checks: ['rate>0.99'],
    orders_placed: ['count>0'],
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  requireTokens();
  return { productIds: createProducts('K6-SHOP', numberEnv('PRODUCTS', 20), 1000000) };
}

function pause() {
  if (thinkTime > 0) sleep(thinkTime * (0.5 + Math.random()));
}

export default function (data) {
  const productId = data.productIds[Math.floor(Math.random() * data.productIds.length)];

  group('browse', function () {
    const page = http.get(config.baseUrl + '/api/v1/products?limit=20', { tags: { name: 'list products' } });
    check(page, {
      'catalog page (200)': (r) => r.status === 200,
      'catalog page has products': (r) => r.status === 200 && r.json('items').length > 0,
    });
    const product = http.get(config.baseUrl + '/api/v1/products/' + productId, { tags: { name: 'get product' } });
    check(product, { 'product (200)': (r) => r.status === 200 && r.json('id') === productId });
    const stock = http.get(config.baseUrl + '/api/v1/products/' + productId + '/inventory', { tags: { name: 'get inventory' } });
    check(stock, {
      'inventory (200)': (r) => r.status === 200,
      'reserved within on hand': (r) => r.status === 200 && r.json('reserved') <= r.json('onHand') && r.json('available') >= 0,
    });
  });
  pause();

  let orderId = null;
  group('order', function () {
    const res = placeOrder(productId, 'k6-shopper-' + __VU, 1 + Math.floor(Math.random() * 3));
    if (!check(res, { 'order accepted (202)': (r) => r.status === 202 })) return;
    orderId = res.json('id');
    placed.add(1);
    const order = http.get(config.baseUrl + '/api/v1/orders/' + orderId, { headers: headers('client'), tags: { name: 'get order' } });
    check(order, {
      'order readable (200)': (r) => r.status === 200 && r.json('id') === orderId,
      'order in a known state': (r) => r.status === 200 && ORDER_STATES.indexOf(r.json('status')) >= 0,
    });
    const logs = http.get(config.baseUrl + '/api/v1/orders/' + orderId + '/logs', { headers: headers('client'), tags: { name: 'get order log' } });
    check(logs, { 'log starts with reserved or pending': (r) => r.status === 200 && ACCEPTED_STATES.indexOf(r.json('items.0.status')) >= 0 });
  });

  if (orderId !== null && Math.random() < cancelRatio) {
    group('cancel', function () {
      // A failed or shipped order can no longer be cancelled: 409 is a correct answer, not a failure.
      const res = http.post(config.baseUrl + '/api/v1/orders/' + orderId + '/cancel', null, {
        headers: headers('client'),
        tags: { name: 'cancel order' },
        responseCallback: http.expectedStatuses(200, 409),
      });
      check(res, {
        'cancelled, or past cancelling (409)': (r) => (r.status === 200 && r.json('status') === 'cancelled') || r.status === 409,
      });
      if (res.status === 200) cancelled.add(1);
    });
  }
  pause();
}

export const handleSummary = summaryWriter('shop-mix');
