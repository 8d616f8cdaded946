// The end-of-test summary of every script: a short text on stdout and the figures as JSON in
// SUMMARY_DIR/k6-<script>.json.
import { config, PLACE_ORDER_LATENCY } from './lib.js';

/**
 * k6 writes handleSummary's files relative to the directory it was started in, cannot create a
 * directory, and when it cannot write only logs an error and still exits 0, after the whole run.
 * So the directory is checked here, in the init stage, and a missing one stops the run before any
 * load. k6's open() tells: on a directory it throws "can't be used with directories", on a missing
 * path "no such file or directory". A relative SUMMARY_DIR is resolved against PWD (set by shells);
 * without PWD it cannot be checked.
 */
function assertDirectory(dir) {
  const absolute = dir.charAt(0) === '/' ? dir : __ENV.PWD ? __ENV.PWD.replace(/\/+$/, '') + '/' + dir : null;
  if (absolute === null) return;
  let isFile = true;
  try {
    open(absolute);
  } catch (error) {
    isFile = false;
    if (/no such file|cannot find/i.test(String(error))) {
      throw new Error('SUMMARY_DIR ' + absolute + ' does not exist: create it (k6 cannot) or set SUMMARY_DIR to a directory that does');
    }
  }
  if (isFile) throw new Error('SUMMARY_DIR ' + absolute + ' is a file, not a directory');
}
assertDirectory(config.summaryDir);

function thresholdsOf(metric) {
  const out = {};
  const thresholds = metric.thresholds || {};
  Object.keys(thresholds).forEach(function (expression) {
    out[expression] = thresholds[expression].ok;
  });
  return out;
}

/** The figures worth keeping from a k6 summary: every metric's values, and each threshold's verdict. */
export function compactSummary(name, data) {
  const metrics = {};
  const thresholds = {};
  const failed = [];
  Object.keys(data.metrics).forEach(function (key) {
    const metric = data.metrics[key];
    metrics[key] = metric.values;
    if (!metric.thresholds) return;
    thresholds[key] = thresholdsOf(metric);
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
  return '  ' + (label + ' ').padEnd(38, '.') + ' ' + value + '\n';
}

/** The scenario's own failure rate: the http_req_failed sub-metric a threshold scoped to it. */
function scenarioFailures(metrics) {
  const key = Object.keys(metrics).filter((k) => k.indexOf('http_req_failed{scenario:') === 0)[0];
  return key ? metrics[key] : null;
}

function textSummary(summary) {
  const m = summary.metrics;
  let text = '\n' + summary.script + ' against ' + summary.baseUrl + '\n';
  if (m.iterations) text += line('iterations', m.iterations.count + ' (' + m.iterations.rate.toFixed(1) + '/s)');
  if (m.dropped_iterations) text += line('dropped iterations', m.dropped_iterations.count);
  const failures = scenarioFailures(m);
  if (failures) text += line('failed requests (setup excluded)', (failures.rate * 100).toFixed(2) + ' %');
  const latency = m[PLACE_ORDER_LATENCY];
  if (latency) text += line('place-order p50 / p95 / p99', latency.med.toFixed(1) + ' / ' + latency['p(95)'].toFixed(1) + ' / ' + latency['p(99)'].toFixed(1) + ' ms');
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
