// Line charts on uPlot that follow their container's width.
import uPlot from 'uplot';
import { timeRange, timeTicks } from './timeaxis.js';

// Series colours, each at least 4.5:1 against the white background.
const PALETTE = ['#1f5fbf', '#b34700', '#2e7d32', '#8e24aa', '#c62828', '#00695c', '#6d4c41', '#455a64'];

export class LineChart {
  /**
   * container: an element of its own (the chart fills its width).
   * time: the x values are unix seconds (else plain numbers, e.g. epochs).
   * yFmt / y2Fmt: tick labels of the left axis and of the right one (series with scale 'y2').
   */
  constructor(container, { label, height = 200, time = true, yFmt, y2Fmt } = {}) {
    this.container = container;
    this.opts = { height, time, yFmt, y2Fmt };
    this.plot = null;
    this.key = '';
    container.classList.add('chart');
    container.setAttribute('role', 'img');
    if (label) container.setAttribute('aria-label', label);
    // uPlot draws at a fixed size: follow the container (hidden panels have width 0 until shown).
    new ResizeObserver(() => {
      const width = this.width();
      if (this.plot && width && width !== this.plot.width) this.plot.setSize({ width, height });
    }).observe(container);
  }

  width() {
    return Math.floor(this.container.clientWidth);
  }

  /** series: [{label, scale?: 'y' | 'y2'}]; data: [xs, ys of each series] (null = a gap). */
  set(series, data) {
    const key = JSON.stringify(series);
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    // Another set of series: build the chart anew (uPlot's series cannot be swapped in place cheaply).
    this.plot?.destroy();
    this.key = key;
    const { height, time, yFmt, y2Fmt } = this.opts;
    const axis = { stroke: '#333', grid: { stroke: '#e3e3e3' }, ticks: { stroke: '#ccc' } };
    const axes = [time ? timeAxis(axis, this.container) : { ...axis }, { ...axis, values: yFmt && ((u, ticks) => ticks.map(yFmt)) }];
    // Time: the data's own span, at least a minute (timeaxis.js). uPlot widens a single time point to 86400/1e-3 s
    // (1000 days: the "Feb 2027 … Aug 2029" axis) before asking, so the span is read from the data itself.
    // Epochs: one either side of a single one.
    const range = time
      ? (u, min, max) => {
        const xs = u.data?.[0] || [];
        return xs.length ? timeRange(xs[0], xs[xs.length - 1]) : timeRange(min, max);
      }
      : (u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]);
    // y: uPlot's padded range, but data that is all zero (an idle user's short-term weights) reads 0..1, not 0..100.
    const yRange = (u, min, max) => (min === max && min === 0 ? [0, 1] : uPlot.rangeNum(min, max, 0.1, true));
    const scales = { x: { time, range }, y: { range: yRange } };
    if (series.some((s) => s.scale === 'y2')) {
      axes.push({ ...axis, scale: 'y2', side: 1, grid: { show: false }, values: y2Fmt && ((u, ticks) => ticks.map(y2Fmt)) });
      scales.y2 = { auto: true };
    }
    this.plot = new uPlot(
      {
        width: this.width() || 300,
        height,
        scales,
        axes,
        cursor: { drag: { x: false, y: false } },
        series: [
          { label: time ? 'time' : 'epoch' },
          ...series.map((s, i) => ({
            label: s.label,
            scale: s.scale || 'y',
            stroke: PALETTE[i % PALETTE.length],
            width: 2,
            spanGaps: false,
            points: { show: data[0].length < 30 },
          })),
        ],
      },
      data,
      this.container,
    );
  }
}

/**
 * The x axis of times: calendar ticks from seconds to years (timeaxis.js), about one per 90 px. The labels drawn
 * are also kept in the container's data-xticks ("|"-separated), since the canvas does not expose them.
 */
function timeAxis(axis, container) {
  let last = { ticks: [], labels: [] };
  return {
    ...axis,
    size: 52, // room for a second line (the date where it changes)
    splits: (u, i, min, max) => {
      last = timeTicks(min, max, (u.bbox.width / (window.devicePixelRatio || 1)) / 90);
      return last.ticks;
    },
    values: (u, splits) => {
      const labels = splits.map((t) => last.labels[last.ticks.indexOf(t)] ?? '');
      container.dataset.xticks = labels.join('|');
      return labels;
    },
  };
}

/** Named series sampled at common times, at most `keep` points (older ones drop off). */
export class History {
  constructor(keep) {
    this.keep = keep;
    this.t = [];
    this.values = new Map(); // name -> values aligned with t (null: no value at that time)
  }

  /** Adds a point at time t (unix seconds); point: Map(name -> value). Series absent from it get a gap. */
  push(t, point) {
    this.t.push(t);
    for (const name of point.keys()) if (!this.values.has(name)) this.values.set(name, new Array(this.t.length - 1).fill(null));
    for (const [name, values] of this.values) values.push(point.get(name) ?? null);
    if (this.t.length > this.keep) {
      this.t.shift();
      for (const [name, values] of this.values) {
        values.shift();
        if (values.every((v) => v == null)) this.values.delete(name);
      }
    }
  }

  /** uPlot data of the named series. */
  data(names) {
    return [this.t, ...names.map((n) => this.values.get(n) || this.t.map(() => null))];
  }
}
