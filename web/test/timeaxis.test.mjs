// Unit tests of the time axis (node --test): sensible ticks for any span, seconds to decades.
process.env.TZ = 'UTC'; // labels are local time: pin it
import test from 'node:test';
import assert from 'node:assert/strict';
import { timeRange, timeTicks, MIN_SPAN_S } from '../src/timeaxis.js';

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** A tick's label at its unit's precision, from the ISO form (UTC). */
function expected(t, unit) {
  const iso = new Date(t * 1000).toISOString();
  const d = new Date(t * 1000);
  return { second: iso.slice(11, 19), minute: iso.slice(11, 16), hour: iso.slice(11, 16), day: `${MON[d.getUTCMonth()]} ${d.getUTCDate()}`,
    month: MON[d.getUTCMonth()], year: String(d.getUTCFullYear()) }[unit];
}

const T0 = Date.UTC(2026, 0, 7, 22, 8, 31.4) / 1000; // Wed 7 Jan 2026 22:08:31.4 UTC

test('a single point or a sub-second span is widened to a minute, never to years', () => {
  assert.deepEqual(timeRange(T0, T0), [T0 - 30, T0 + 30]);
  const [a, b] = timeRange(T0, T0 + 0.5);
  assert.equal(b - a, MIN_SPAN_S);
  const { unit, labels } = timeTicks(a, b, 8);
  assert.equal(unit, 'second');
  for (const l of labels) assert.match(l, /^\d\d:\d\d:\d\d(\nJan 7)?$/, `label ${JSON.stringify(l)}`);
  assert.ok(labels.every((l) => !/\.\d/.test(l) && !/20\d\d/.test(l)), labels.join(' | '));
  assert.deepEqual(timeRange(null, null).map((x) => typeof x), ['number', 'number']);
});

test('each span gets its unit and readable labels', () => {
  const cases = [
    [60, 'second', /^22:0[89]:\d\d/],
    [10 * 60, 'minute', /^22:\d\d/],
    [6 * 3600, 'hour', /^\d\d:00/],
    [5 * 86400, 'day', /^Jan \d+/],
    [90 * 86400, 'day', /^Jan \d+/],
    [200 * 86400, 'month', /^(Feb|Mar)/],
    [3 * 365 * 86400, 'month', /^(Jan|Apr|Jul|Oct)/],
    [40 * 365 * 86400, 'year', /^20\d\d$/],
  ];
  for (const [span, unit, first] of cases) {
    const t = timeTicks(T0, T0 + span, 8);
    assert.equal(t.unit, unit, `span ${span}`);
    assert.match(t.labels[0], first, `span ${span}: ${t.labels.join(' | ')}`);
  }
  // The first tick says the date; a day change says it again, other ticks do not.
  const t = timeTicks(T0, T0 + 6 * 3600, 8);
  assert.match(t.labels[0], /\nJan 7$/);
  assert.ok(t.labels.some((l) => /^00:00\nJan 8$/.test(l)), t.labels.join(' | '));
  assert.ok(t.labels.filter((l) => l.includes('\n')).length === 2, t.labels.join(' | '));
});

test('for spans from a second to fifty years: 2..maxTicks ticks inside the range, ascending, labelled with their time, on whole steps', () => {
  let cases = 0;
  for (let span = 1; span < 50 * 366 * 86400; span *= 1.37) {
    for (const maxTicks of [4, 8, 14]) {
      const [a, b] = timeRange(T0, T0 + span);
      const { ticks, labels, unit } = timeTicks(a, b, maxTicks);
      const at = `span ${span.toFixed(0)} s, ${maxTicks} ticks: ${labels.join(' | ')}`;
      assert.ok(ticks.length >= 2 && ticks.length <= maxTicks, at);
      assert.ok(ticks.every((t, i) => t >= a && t <= b && (i === 0 || t > ticks[i - 1])), at);
      // Each label is its tick's time at the unit's precision; the date follows where it changed.
      labels.forEach((l, i) => assert.equal(l.split('\n')[0], expected(ticks[i], unit), at));
      assert.ok(ticks.every((t) => Number.isInteger(t)), at); // whole seconds: no ":33.500"
      if (unit === 'month' || unit === 'year') assert.ok(ticks.every((t) => new Date(t * 1000).getUTCDate() === 1), at);
      if (unit === 'day') assert.ok(ticks.every((t) => t % 86400 === 0), at);
      cases++;
    }
  }
  assert.ok(cases > 150);
});
