// The interest graph: categories and keywords as a force-directed SVG graph, with its legend.
// What is drawn (sizes, which keywords, links) is decided by graphview.js; this file lays it out and draws it.
import { forceSimulation, forceManyBody, forceLink, forceCollide, forceX, forceY } from 'd3-force';
import { select } from 'd3-selection';
import { graphView, radius, edgeWidth, weight } from './graphview.js';
import { h } from './util.js';

const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

export class InterestGraph {
  /** svg: the drawing; legend: the element that explains its scale (filled on every update). */
  constructor(svg, legend) {
    this.svg = select(svg);
    this.legend = legend;
    this.nodes = new Map(); // id -> simulation node, kept across updates so nodes do not jump
    this.size = { w: 600, h: 380 };
    this.edgeLayer = this.svg.append('g').attr('class', 'edges');
    this.nodeLayer = this.svg.append('g').attr('class', 'nodes');
    this.svg
      .append('defs')
      .append('marker')
      .attr('id', 'arrow')
      .attr('viewBox', '0 0 10 10')
      .attr('refX', 10)
      .attr('refY', 5)
      .attr('markerWidth', 6)
      .attr('markerHeight', 6)
      .attr('orient', 'auto-start-reverse')
      .append('path')
      .attr('d', 'M0,0L10,5L0,10z');
    this.sim = forceSimulation()
      .force('charge', forceManyBody().strength(-250))
      // Transitions pull weakly over a long distance; a keyword is held close to the categories it came from.
      .force('link', forceLink().id((d) => d.id).distance((l) => (l.kind === 'keyword' ? 55 : 110)).strength((l) => (l.kind === 'keyword' ? 0.5 : 0.2)))
      // Room for the circle and, roughly, half of the label beside it.
      .force('collide', forceCollide().radius((d) => Math.max(d.r, d.ring, labelHalf(d)) + 8))
      .force('x', forceX().strength(0.05))
      .force('y', forceY().strength(0.08))
      .on('tick', () => this.draw());
    this.sim.stop();
    this.resize(svg.clientWidth);
    new ResizeObserver(() => this.resize(svg.clientWidth)).observe(svg);
  }

  resize(width) {
    if (!width) return; // hidden
    const w = Math.round(width);
    const h = Math.round(Math.min(420, Math.max(260, w * 0.62)));
    if (w === this.size.w && h === this.size.h) return;
    this.size = { w, h };
    this.svg.attr('viewBox', `0 0 ${w} ${h}`).attr('height', h);
    this.sim.force('x').x(w / 2);
    this.sim.force('y').y(h / 2);
    this.run(0.3);
  }

  /**
   * graph: {nodes: [{id, kind, name, s, l, categories?}], edges: [{from, to, count}]}; inSession: the server's
   * `in_session` (false: the areas show the long-term weights).
   */
  update(graph, inSession = true) {
    const { w, h } = this.size;
    const view = graphView(graph, inSession);
    this.view = view;
    const next = new Map();
    for (const n of view.nodes) {
      // New nodes start near the centre, existing ones where they are.
      const old = this.nodes.get(n.id) || { x: w / 2 + (Math.random() - 0.5) * 80, y: h / 2 + (Math.random() - 0.5) * 80 };
      next.set(n.id, Object.assign(old, n, { r: radius(n.size, view.scale), ring: n.ring > 0 ? radius(n.ring, view.scale) : 0, stays: view.stays.get(n.id) || 0 }));
    }
    this.nodes = next;
    const links = [
      ...view.transitions.map((e) => ({ kind: 'transition', source: e.from, target: e.to, count: e.count })),
      ...view.keywordLinks.map((e) => ({ kind: 'keyword', source: e.from, target: e.to, share: e.share })),
    ];
    this.sim.nodes([...next.values()]);
    this.sim.force('link').links(links);

    this.edgeSel = this.edgeLayer
      .selectAll('line')
      .data(links, (d) => `${d.kind}:${d.source.id}>${d.target.id}`)
      .join('line')
      .attr('class', (d) => d.kind)
      .attr('stroke-width', (d) => (d.kind === 'keyword' ? 1.25 : edgeWidth(d.count)))
      .attr('marker-end', (d) => (d.kind === 'keyword' ? null : 'url(#arrow)'));
    this.edgeSel.selectAll('title').data((d) => [d]).join('title')
      .text((d) => (d.kind === 'keyword'
        ? `“${d.source.name}” came from ${d.target.name}: ${Math.round(d.share * 100)}% of the catalogue's items with this word are in it`
        : `${d.source.name} → ${d.target.name}: ${d.count} transition${d.count === 1 ? '' : 's'}`));

    this.nodeSel = this.nodeLayer
      .selectAll('g.node')
      .data([...next.values()], (d) => d.id)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'node');
        g.append('circle').attr('class', 'ring');
        g.append('circle').attr('class', 'dot');
        g.append('text').attr('text-anchor', 'middle');
        g.append('title');
        return g;
      })
      .attr('data-name', (d) => d.name)
      .attr('data-kind', (d) => d.kind)
      .attr('data-size', (d) => d.size);
    this.nodeSel.select('circle.ring').attr('r', (d) => d.ring);
    this.nodeSel.select('circle.dot').attr('r', (d) => d.r);
    this.nodeSel.select('text').attr('y', (d) => Math.max(d.r, d.ring) + 13).text((d) => d.name);
    this.nodeSel.select('title').text((d) => `${d.name} (${d.kind}): short-term ${weight(d.s)}, long-term ${weight(d.l)}` +
      (d.stays ? `, ${d.stays} time${d.stays === 1 ? '' : 's'} followed by itself` : ''));

    this.svg.attr('data-mode', view.mode);
    this.svg.select('desc').text(describe(view));
    this.drawLegend(view);
    this.run(0.5);
  }

  /** The legend: what colour, area, ring and lines mean, with reference sizes in the graph's own scale. */
  drawLegend(view) {
    if (!this.legend) return;
    const longTerm = view.mode === 'long-term';
    const circle = (v, cls = 'dot') => {
      const r = radius(v, view.scale);
      const size = Math.ceil(2 * r + 4);
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('width', size);
      svg.setAttribute('height', size);
      svg.setAttribute('aria-hidden', 'true');
      const c = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
      c.setAttribute('cx', size / 2);
      c.setAttribute('cy', size / 2);
      c.setAttribute('r', r);
      c.setAttribute('class', cls);
      svg.append(c);
      return svg;
    };
    const line = (width, cls) => {
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('width', 28);
      svg.setAttribute('height', 12);
      svg.setAttribute('aria-hidden', 'true');
      const l = document.createElementNS('http://www.w3.org/2000/svg', 'line');
      for (const [k, v] of Object.entries({ x1: 2, y1: 6, x2: 26, y2: 6, 'stroke-width': width, class: cls })) l.setAttribute(k, v);
      svg.append(l);
      return svg;
    };
    const items = [
      h('span', { class: 'key-cat' }, 'category'),
      h('span', { class: 'key-kw' }, 'keyword'),
      h('span', { class: 'scale', 'data-legend': 'area' },
        `circle area: ${longTerm ? 'long-term' : 'short-term'} weight`,
        ...view.legend.areas.flatMap((v) => [circle(v), weight(v)]),
        ` (largest ${weight(view.scale)})`),
    ];
    if (!longTerm) items.push(h('span', { class: 'scale', 'data-legend': 'ring' }, circle(view.legend.areas[0] ?? 1, 'ring'), `dashed ring: long-term weight, same scale (${weight(view.legend.areas[0] ?? 1)})`));
    items.push(h('span', { class: 'scale', 'data-legend': 'edges' }, 'arrows: category transitions',
      ...view.legend.counts.flatMap((c) => [line(edgeWidth(c), 'transition'), `${c}×`])));
    items.push(h('span', { class: 'scale', 'data-legend': 'keyword-links' }, line(1.25, 'keyword'), 'keyword → category it came from'));
    items.push(h('span', { class: 'note' }, 'Weight 1 ≈ one view; a like, cart or purchase counts more. Short-term weights halve every 2 min, long-term every 30 days of activity.'));
    if (view.hidden.length)
      items.push(h('span', { class: 'note', 'data-legend': 'hidden' },
        `Keywords not drawn (numbers, 1–2 letters, stop words, or spread over many categories): ${view.hidden.map((x) => x.name).join(', ')}`));
    this.legend.replaceChildren(...items);
  }

  run(alpha) {
    if (!this.nodeSel) return;
    this.sim.alpha(alpha);
    if (reducedMotion) {
      this.sim.tick(200); // settle at once, no animation
      this.draw();
    } else {
      this.sim.restart();
    }
  }

  draw() {
    const { w, h } = this.size;
    for (const d of this.nodes.values()) {
      // Keep every node and its label (centred below it) inside the drawing.
      const half = Math.max(d.r, d.ring, labelHalf(d)) + 2;
      d.x = Math.max(half, Math.min(w - half, d.x));
      d.y = Math.max(d.r + 2, Math.min(h - Math.max(d.r, d.ring) - 18, d.y));
    }
    this.nodeSel.attr('transform', (d) => `translate(${d.x.toFixed(1)},${d.y.toFixed(1)})`);
    // Edges end at the target's outline, so the arrow head stays visible.
    this.edgeSel.each(function (d) {
      const dx = d.target.x - d.source.x;
      const dy = d.target.y - d.source.y;
      const len = Math.hypot(dx, dy) || 1;
      const cut = (d.target.r + 3) / len;
      this.setAttribute('x1', d.source.x.toFixed(1));
      this.setAttribute('y1', d.source.y.toFixed(1));
      this.setAttribute('x2', (d.target.x - dx * cut).toFixed(1));
      this.setAttribute('y2', (d.target.y - dy * cut).toFixed(1));
    });
  }
}

/** About half the width of a node's label (12.5 px text), for collisions and the edges of the drawing. */
const labelHalf = (d) => d.name.length * 3.5;

/** A text equivalent of the drawing for assistive technology. */
function describe(view) {
  if (!view.nodes.length) return 'No interests yet.';
  const top = [...view.nodes].sort((a, b) => b.size - a.size).slice(0, 5);
  return `${view.nodes.length} interests, ${view.transitions.length} transitions. ` +
    `Strongest ${view.mode === 'now' ? 'now' : 'in the long term (no session now)'}: ` +
    top.map((n) => `${n.name} ${weight(n.size)}`).join(', ') + '.';
}
