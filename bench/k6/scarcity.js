// Scarcity: many more orders than units on one product, then a check that nothing was oversold.
// Every order wants one unit; at most STOCK of them can be sold, the others must fail (or be
// cancelled). teardown waits until none of the run's orders is pending or reserved and the
// product's `reserved` is back to 0, then throws (k6 exits non-zero) when that never happened
// within SETTLE_TIMEOUT or when more units were sold than were ever in stock.
//   k6 run -e BASE_URL=http://localhost:3000 -e ADMIN_TOKEN=… -e CLIENT_TOKEN=… bench/k6/scarcity.js
// Environment (defaults in brackets):
//   STOCK [100] units of the product setup creates; ORDERS [10 × STOCK] orders placed in all;
//   VUS [50, at most ORDERS] VUs sharing the orders (shared-iterations: no arrival rate, nothing dropped);
//   SETTLE_TIMEOUT [60] seconds teardown waits for every order to be final (the service's retry
//   and payment settings decide how long that takes);
//   BASE_URL, ADMIN_TOKEN, CLIENT_TOKEN, SUMMARY_DIR, PWD (see lib.js and bench/README.md).
import http from 'k6/http';
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { allPages, checkAccepted, config, createProducts, headers, numberEnv, placeOrder, PLACE_ORDER_LATENCY, requireTokens, TREND_STATS } from './lib.js';
import { summaryWriter } from './summary.js';
import { scarcityProblems } from './verdict.js';

const accepted = new Counter('orders_accepted');
const stock = numberEnv('STOCK', 100);
const orders = numberEnv('ORDERS', 10 * stock);
const settleTimeout = numberEnv('SETTLE_TIMEOUT', 60);

export const options = {
  scenarios: {
    scarcity: {
      executor: 'shared-iterations',
      // k6 refuses more VUs than iterations.
      vus: Math.min(numberEnv('VUS', 50), orders),
      iterations: orders,
      maxDuration: '10m',
    },
  },
  // k6 stops a teardown after teardownTimeout (60 s by default): leave room for the wait.
  teardownTimeout: settleTimeout + 60 + 's',
  thresholds: {
    'http_req_failed{scenario:scarcity}': ['rate<0.01'],
    [PLACE_ORDER_LATENCY]: ['p(95)<500', 'p(99)<1000'],
    checks: ['rate>0.99'],
  },
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  requireTokens();
  const run = Date.now().toString(36);
  return { productId: createProducts('K6-SCARCE', 1, stock)[0], customerId: 'k6-scarcity-' + run };
}

export default function (data) {
  if (checkAccepted(placeOrder(data.productId, data.customerId, 1))) accepted.add(1);
}

function get(path, role) {
  const res = http.get(config.baseUrl + path, { headers: headers(role), tags: { name: 'teardown: poll' } });
  if (res.status !== 200) throw new Error('GET ' + path + ' answered ' + res.status + ' ' + res.body);
  return res.json();
}

/** Orders of the run still pending or reserved (up to one page each), and the product's reserved units. */
function openState(data) {
  const ordersIn = (status) => get('/api/v1/orders?limit=200&status=' + status + '&customerId=' + encodeURIComponent(data.customerId), 'client').items.length;
  return { open: ordersIn('pending') + ordersIn('reserved'), reserved: get('/api/v1/products/' + data.productId + '/inventory', 'client').reserved };
}

function unitsSold(data) {
  const query = '&customerId=' + encodeURIComponent(data.customerId);
  const orders = allPages('/api/v1/orders?status=processed' + query, 'client', 'teardown: orders').concat(
    allPages('/api/v1/orders?status=shipped' + query, 'client', 'teardown: orders'),
  );
  return orders.reduce(function (sum, order) {
    return sum + order.items.filter((item) => item.productId === data.productId).reduce((units, item) => units + item.quantity, 0);
  }, 0);
}

/** Positive stock movements that no order caused: everything ever put on sale. */
function unitsSupplied(productId) {
  const movements = allPages('/api/v1/products/' + productId + '/inventory/movements', 'admin', 'teardown: movements');
  return movements.filter((m) => !m.orderId && m.delta > 0).reduce((sum, m) => sum + m.delta, 0);
}

export function teardown(data) {
  const started = Date.now();
  let state = openState(data);
  while ((state.open > 0 || state.reserved > 0) && Date.now() - started < settleTimeout * 1000) {
    sleep(1);
    state = openState(data);
  }
  const outcome = {
    open: state.open,
    reserved: state.reserved,
    sold: unitsSold(data),
    supplied: unitsSupplied(data.productId),
    waitedSeconds: Math.round((Date.now() - started) / 1000),
  };
  console.log('scarcity: ' + outcome.sold + ' of ' + outcome.supplied + ' units sold; ' + outcome.open + ' orders open, reserved ' + outcome.reserved);
  const problems = scarcityProblems(outcome);
  if (problems.length > 0) throw new Error('scarcity check failed: ' + problems.join('; '));
}

export const handleSummary = summaryWriter('scarcity');
