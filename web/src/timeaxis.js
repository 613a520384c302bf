// Time axes for any span, from seconds to years (no DOM: unit-tested under node).
// uPlot's own time ticks read ":33.000 :33.500" for a span of a second and "Feb 2027 … Aug 2029" for a single
// point; here the range has a floor (MIN_SPAN_S) and the ticks are calendar steps (whole seconds at least) labelled
// with what changes at that step, in local time.

export const MIN_SPAN_S = 60; // a shorter span (or a single point) is widened to a minute around its middle

const S = 1;
const M = 60;
const H = 3600;
const D = 86400;
// Steps of a fixed length (seconds), then calendar months and years.
const FIXED = [1 * S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S, 1 * M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M,
  1 * H, 2 * H, 3 * H, 6 * H, 12 * H, 1 * D, 2 * D, 7 * D, 14 * D];
const MONTHS = [1, 2, 3, 6];
const YEARS = [1, 2, 5, 10, 20, 50, 100];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The x range to draw for data from min to max (unix seconds): at least MIN_SPAN_S wide. */
export function timeRange(min, max) {
  if (min == null || max == null || !Number.isFinite(min) || !Number.isFinite(max)) {
    const now = Date.now() / 1000;
    return [now - MIN_SPAN_S, now];
  }
  if (max - min >= MIN_SPAN_S) return [min, max];
  const mid = (min + max) / 2;
  return [mid - MIN_SPAN_S / 2, mid + MIN_SPAN_S / 2];
}

/**
 * Ticks for the range [min, max] (unix seconds), at most maxTicks of them (at least 2 allowed):
 * {unit: 'second' | 'minute' | 'hour' | 'day' | 'month' | 'year', step (seconds, or months / years), ticks: [unix s],
 * labels: [string]}. Ticks sit on whole steps of local time (10:15:00, midnight, the 1st of a month, 1 January).
 */
export function timeTicks(min, max, maxTicks = 8) {
  const most = Math.max(2, Math.floor(maxTicks));
  const span = Math.max(1, max - min);
  let ticks;
  let unit;
  let step;
  const fixed = FIXED.find((s) => span / s <= most);
  if (fixed !== undefined) {
    step = fixed;
    unit = fixed < M ? 'second' : fixed < H ? 'minute' : fixed < D ? 'hour' : 'day';
    ticks = fixed < D ? fixedTicks(min, max, fixed) : dayTicks(min, max, fixed / D);
  } else {
    const months = MONTHS.find((m) => span / (m * 30.44 * D) <= most);
    if (months !== undefined) {
      unit = 'month';
      step = months;
      ticks = monthTicks(min, max, months);
    } else {
      unit = 'year';
      step = YEARS.find((y) => span / (y * 365.25 * D) <= most) ?? Math.ceil(span / (365.25 * D) / most);
      ticks = monthTicks(min, max, 12 * step);
    }
  }
  return { unit, step, ticks, labels: labels(ticks, unit) };
}

// Multiples of a step shorter than a day, counted from local midnight (so 6 h steps fall on 00, 06, 12, 18).
function fixedTicks(min, max, step) {
  const day = new Date(min * 1000);
  day.setHours(0, 0, 0, 0);
  const base = day.getTime() / 1000;
  const out = [];
  for (let t = base + Math.ceil((min - base) / step) * step; t <= max + 1e-9; t += step) out.push(t);
  return out;
}

// Local midnights every `days` days (a week's step starts on the first midnight in range).
function dayTicks(min, max, days) {
  const d = new Date(min * 1000);
  d.setHours(0, 0, 0, 0);
  if (d.getTime() / 1000 < min) d.setDate(d.getDate() + 1);
  const out = [];
  while (d.getTime() / 1000 <= max) {
    out.push(d.getTime() / 1000);
    d.setDate(d.getDate() + days);
  }
  return out;
}

// The 1st of every `months`-th month (months counted from January, so quarters start in Jan, Apr, Jul, Oct).
function monthTicks(min, max, months) {
  const d = new Date(min * 1000);
  const index = d.getFullYear() * 12 + d.getMonth();
  let m = Math.ceil(index / months) * months;
  const at = (k) => new Date(Math.floor(k / 12), k % 12, 1).getTime() / 1000;
  if (at(m) < min) m += months;
  const out = [];
  for (; at(m) <= max; m += months) out.push(at(m));
  return out;
}

const pad = (n) => String(n).padStart(2, '0');
const hm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
const dayMonth = (d) => `${MONTH_NAMES[d.getMonth()]} ${d.getDate()}`;

// What changes at the step, and the date on a tick's second line where the day (or year) changed since the
// previous tick (the first tick always says it).
function labels(ticks, unit) {
  let prev = null;
  return ticks.map((t) => {
    const d = new Date(t * 1000);
    const newDay = !prev || prev.toDateString() !== d.toDateString();
    const newYear = !prev || prev.getFullYear() !== d.getFullYear();
    prev = d;
    switch (unit) {
      case 'second':
        return `${hm(d)}:${pad(d.getSeconds())}` + (newDay ? `\n${dayMonth(d)}` : '');
      case 'minute':
      case 'hour':
        return hm(d) + (newDay ? `\n${dayMonth(d)}` : '');
      case 'day':
        return dayMonth(d) + (newYear ? `\n${d.getFullYear()}` : '');
      case 'month':
        return MONTH_NAMES[d.getMonth()] + (newYear ? `\n${d.getFullYear()}` : '');
      default:
        return String(d.getFullYear());
    }
  });
}
