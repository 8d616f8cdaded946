// Shared by the k6 scripts: configuration from __ENV, sizing, and the API helpers (the summary is in summary.js).
// Written for k6 v0.47 and later (no newer-only APIs). Environment read here, by every script:
//   BASE_URL (http://localhost:3000), ADMIN_TOKEN, CLIENT_TOKEN (required),
//   SUMMARY_DIR (bench/results, relative to where k6 is started; must exist; checked in summary.js,
//   which resolves a relative one against PWD, set by shells),
//   and, by the arrival-rate scripts, VUS, MAX_VUS, MAX_DROPPED_RATIO (see arrivalRateVUs, droppedIterations).
import http from 'k6/http';
import { check, fail } from 'k6';

/** A number from __ENV, or `fallback` when unset; anything else stops the run before it starts. */
export function numberEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!isFinite(value) || value < 0) throw new Error(name + ' must be a non-negative number, got "' + raw + '"');
  return value;
}

/** "30s", "2m", "1m30s", "500ms", "1h" → seconds (the k6 duration forms the scripts accept). */
export function seconds(duration) {
  const units = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = String(duration).match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (!parts || parts.join('') !== String(duration)) throw new Error('not a k6 duration such as 30s or 2m: "' + duration + '"');
  return parts.reduce(function (sum, part) {
    const m = /(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(part);
    return sum + Number(m[1]) * units[m[2]];
  }, 0);
}

export const config = {
  baseUrl: (__ENV.BASE_URL || 'http://localhost:3000').replace(/\/+$/, ''),
  adminToken: __ENV.ADMIN_TOKEN || '',
  clientToken: __ENV.CLIENT_TOKEN || '',
  // docker compose mounts ./bench at /bench and sets SUMMARY_DIR=/bench/results.
  summaryDir: (__ENV.SUMMARY_DIR || 'bench/results').replace(/\/+$/, ''),
};

export const ORDER_STATES = ['pending', 'reserved', 'processed', 'shipped', 'failed', 'cancelled'];
/** What POST /api/v1/orders answers with a 202: stock held at once, or waiting for it. */
export const ACCEPTED_STATES = ['reserved', 'pending'];
/** The tag of the place-order request: its latency is the one the thresholds and the summary report. */
export const PLACE_ORDER = 'place-order';
export const PLACE_ORDER_LATENCY = 'http_req_duration{name:' + PLACE_ORDER + '}';
export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

/**
 * VUs for an arrival rate, by Little's law (requests in flight = rate × latency): pre-allocated
 * for 100 ms per request, and up to 500 ms before k6 has no VU left and drops iterations (which
 * fails the run, see droppedIterations). VUS and MAX_VUS override.
 */
export function arrivalRateVUs(rate) {
  const preAllocatedVUs = numberEnv('VUS', Math.max(10, Math.ceil(rate * 0.1)));
  return { preAllocatedVUs: preAllocatedVUs, maxVUs: Math.max(preAllocatedVUs, numberEnv('MAX_VUS', Math.ceil(rate * 0.5))) };
}

/** Iterations an arrival-rate scenario schedules: the area under its rate (ramps are linear). */
export function scheduledIterations(startRate, stages) {
  let rate = startRate;
  return stages.reduce(function (sum, stage) {
    const area = ((rate + stage.target) / 2) * seconds(stage.duration);
    rate = stage.target;
    return sum + area;
  }, 0);
}

/**
 * A dropped iteration is load the script meant to send and did not (no VU free): past
 * MAX_DROPPED_RATIO (1 %) of the scheduled ones, the run did not measure the rate it claims.
 */
export function droppedIterations(scheduled) {
  return ['count<=' + Math.floor(scheduled * numberEnv('MAX_DROPPED_RATIO', 0.01))];
}

export function headers(role) {
  return {
    'Content-Type': 'application/json',
    Authorization: 'Bearer ' + (role === 'admin' ? config.adminToken : config.clientToken),
  };
}

export function requireTokens() {
  if (!config.adminToken || !config.clientToken) fail('set ADMIN_TOKEN and CLIENT_TOKEN (the ones the service runs with)');
}

/** Creates `count` products with `stock` units each (admin token); returns their ids. */
export function createProducts(prefix, count, stock) {
  const run = Date.now().toString(36).toUpperCase();
  const ids = [];
  for (let i = 0; i < count; i++) {
    const body = { sku: prefix + '-' + run + '-' + i, name: prefix + ' ' + i, price: '9.99', initialStock: stock };
    const res = http.post(config.baseUrl + '/api/v1/products', JSON.stringify(body), { headers: headers('admin'), tags: { name: 'setup: create product' } });
    if (res.status !== 201) fail('could not create a product: ' + res.status + ' ' + res.body);
    ids.push(res.json('id'));
  }
  return ids;
}

/** POST /api/v1/orders for one product, tagged as the place-order request; `params` adds to k6's. */
export function placeOrder(productId, customerId, quantity, params) {
  const body = JSON.stringify({ customerId: customerId, items: [{ productId: productId, quantity: quantity || 1 }] });
  return http.post(config.baseUrl + '/api/v1/orders', body, Object.assign({ headers: headers('client'), tags: { name: PLACE_ORDER } }, params));
}

/** The checks every accepted order passes; true when all did. */
export function checkAccepted(res) {
  return check(res, {
    'order accepted (202)': (r) => r.status === 202,
    'stored as reserved or pending': (r) => r.status === 202 && ACCEPTED_STATES.indexOf(r.json('status')) >= 0,
    'Location names the order': (r) => r.status === 202 && r.headers['Location'] === '/api/v1/orders/' + r.json('id'),
  });
}

/** Every item of a paged list (`{ items, nextCursor }`), following the cursor. */
export function allPages(path, role, tag) {
  const items = [];
  let cursor = null;
  do {
    const separator = path.indexOf('?') >= 0 ? '&' : '?';
    const url = config.baseUrl + path + separator + 'limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
    const res = http.get(url, { headers: headers(role), tags: { name: tag } });
    if (res.status !== 200) fail('GET ' + path + ' answered ' + res.status + ' ' + res.body);
    const page = res.json();
    Array.prototype.push.apply(items, page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
