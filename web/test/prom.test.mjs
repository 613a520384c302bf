// Unit tests of the Prometheus parsing and quantile estimation (node --test).
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseProm, histograms, histogramDelta, quantile } from '../src/prom.js';

const TEXT = `# HELP vane_http_request_seconds HTTP request latency by route.
# TYPE vane_http_request_seconds histogram
vane_http_request_seconds_bucket{route="/v1/recommend/{user}",le="0.001"} 50
vane_http_request_seconds_bucket{route="/v1/recommend/{user}",le="0.01"} 90
vane_http_request_seconds_bucket{route="/v1/recommend/{user}",le="0.1"} 100
vane_http_request_seconds_bucket{route="/v1/recommend/{user}",le="+Inf"} 100
vane_http_request_seconds_sum{route="/v1/recommend/{user}"} 0.25
vane_http_request_seconds_count{route="/v1/recommend/{user}"} 100
vane_http_requests_total{route="/v1/events",status="200"} 7
vane_model_info{version="a \\"b\\""} 1
`;

test('parses samples, labels and escapes', () => {
  const s = parseProm(TEXT);
  assert.equal(s.length, 8);
  assert.deepEqual(s[6], { name: 'vane_http_requests_total', labels: { route: '/v1/events', status: '200' }, value: 7 });
  assert.equal(s[7].labels.version, 'a "b"');
});

test('groups a histogram per label, buckets ascending with +Inf last', () => {
  const h = histograms(parseProm(TEXT), 'vane_http_request_seconds', 'route')['/v1/recommend/{user}'];
  assert.deepEqual(h.buckets.map(([le]) => le), [0.001, 0.01, 0.1, Infinity]);
  assert.equal(h.count, 100);
  assert.equal(h.sum, 0.25);
});

test('quantiles interpolate inside the bucket, like histogram_quantile', () => {
  const b = [[0.001, 50], [0.01, 90], [0.1, 100], [Infinity, 100]];
  assert.equal(quantile(0.5, b), 0.001);
  assert.ok(Math.abs(quantile(0.25, b) - 0.0005) < 1e-12); // first bucket starts at 0
  assert.ok(Math.abs(quantile(0.7, b) - 0.0055) < 1e-12);
  assert.ok(Math.abs(quantile(0.99, b) - 0.091) < 1e-12);
  assert.equal(quantile(0.99, [[0.1, 1], [Infinity, 10]]), 0.1); // rank in +Inf: the highest finite bound
  assert.equal(quantile(0.5, [[0.1, 0], [Infinity, 0]]), null);
});

test('the delta of two scrapes holds the observations in between', () => {
  const a = { buckets: [[0.001, 10], [Infinity, 10]], sum: 0.005, count: 10 };
  const b = { buckets: [[0.001, 10], [Infinity, 14]], sum: 0.105, count: 14 };
  const d = histogramDelta(b, a);
  assert.deepEqual(d.buckets, [[0.001, 0], [Infinity, 4]]);
  assert.equal(d.count, 4);
  assert.equal(histogramDelta(b, undefined), b);
});
