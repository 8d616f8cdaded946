// Shared by the k6 scripts: configuration from __ENV, API helpers and the summary written at the end.
import http from 'k6/http';
import { fail } from 'k6';

export const config = {
  baseUrl: (__ENV.BASE_URL || 'http://localhost:3000').replace(/\/+$/, ''),
  adminToken: __ENV.ADMIN_TOKEN || '',
  clientToken: __ENV.CLIENT_TOKEN || '',
  // docker compose mounts ./bench at /bench and sets SUMMARY_DIR=/bench/results.
  summaryDir: (__ENV.SUMMARY_DIR || 'bench/results').replace(/\/+$/, ''),
};

export const ORDER_STATES = ['pending', 'reserved', 'processed', 'shipped', 'failed', 'cancelled'];

export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

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

export function orderBody(productId, customerId, quantity) {
  return JSON.stringify({ customerId: customerId, items: [{ productId: productId, quantity: quantity || 1 }] });
}

function thresholdsOf(metric) {
  const out = {};
  const thresholds = metric.thresholds || {};
  Object.keys(thresholds).forEach(function (expression) {
    out[expression] = thresholds[expression].ok;
  });
  return out;
}

/** The figures worth keeping from a k6 summary: request rate, failures, latency, checks, thresholds, our counters. */
export function compactSummary(name, data) {
  const metrics = {};
  const thresholds = {};
  Object.keys(data.metrics).forEach(function (key) {
    const metric = data.metrics[key];
    metrics[key] = metric.values;
    if (metric.thresholds) thresholds[key] = thresholdsOf(metric);
  });
  const failed = [];
  Object.keys(thresholds).forEach(function (key) {
    Object.keys(thresholds[key]).forEach(function (expression) {
      if (!thresholds[key][expression]) failed.push(key + ' ' + expression);
    });
  });
  return {
    script: name,
    baseUrl: config.baseUrl,
    testRunDurationMs: data.state ? data.state.testRunDurationMs : null,
    thresholdsPassed: failed.length === 0,
    failedThresholds: failed,
    thresholds: thresholds,
    metrics: metrics,
  };
}

function line(label, value) {
  return '  ' + (label + ' ').padEnd(34, '.') + ' ' + value + '\n';
}

function textSummary(summary) {
  const m = summary.metrics;
  let text = '\n' + summary.script + ' against ' + summary.baseUrl + '\n';
  if (m.http_reqs) text += line('requests', m.http_reqs.count + ' (' + m.http_reqs.rate.toFixed(1) + '/s)');
  if (m.http_req_failed) text += line('failed requests', (m.http_req_failed.rate * 100).toFixed(2) + ' %');
  if (m.http_req_duration) {
    const d = m.http_req_duration;
    text += line('latency p50 / p95 / p99', d.med.toFixed(1) + ' / ' + d['p(95)'].toFixed(1) + ' / ' + (d['p(99)'] || 0).toFixed(1) + ' ms');
  }
  if (m.checks) text += line('checks passed', (m.checks.rate * 100).toFixed(2) + ' %');
  text += line('thresholds', summary.thresholdsPassed ? 'all passed' : 'FAILED: ' + summary.failedThresholds.join(', '));
  return text;
}

/** handleSummary for a script: a short text on stdout and the JSON in SUMMARY_DIR/k6-<name>.json. */
export function summaryWriter(name) {
  return function handleSummary(data) {
    const summary = compactSummary(name, data);
    const out = { stdout: textSummary(summary) };
    out[config.summaryDir + '/k6-' + name + '.json'] = JSON.stringify(summary, null, 2);
    return out;
  };
}
