// The interest graph: categories and keywords as a force-directed SVG graph.
// Node area follows the short-term weight s, a dashed ring the long-term weight l; edges are category
// transitions (width by count, arrow towards the next category).
import { forceSimulation, forceManyBody, forceLink, forceCollide, forceX, forceY } from 'd3-force';
import { select } from 'd3-selection';

const MIN_R = 4;
const SPAN_R = 22; // radius of a weight equal to the largest weight shown
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

export class InterestGraph {
  constructor(svg) {
    this.svg = select(svg);
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
      .force('link', forceLink().id((d) => d.id).distance(110).strength(0.2))
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

  /** graph: {nodes: [{id, kind, name, s, l}], edges: [{from, to, count}]} */
  update(graph) {
    const { w, h } = this.size;
    // Weights have no fixed scale (they decay): sizes are relative to the largest weight shown.
    const scale = Math.max(...graph.nodes.flatMap((n) => [n.s || 0, n.l || 0])) || 1;
    const stays = new Map(graph.edges.filter((e) => e.from === e.to).map((e) => [e.from, e.count]));
    const radius = (v) => MIN_R + SPAN_R * Math.sqrt(Math.max(0, v || 0) / scale);
    const next = new Map();
    for (const n of graph.nodes) {
      // New nodes start near the centre, existing ones where they are.
      const old = this.nodes.get(n.id) || { x: w / 2 + (Math.random() - 0.5) * 80, y: h / 2 + (Math.random() - 0.5) * 80 };
      next.set(n.id, Object.assign(old, n, { r: radius(n.s), ring: n.l > 0 ? radius(n.l) : 0, stays: stays.get(n.id) || 0 }));
    }
    this.nodes = next;
    const links = graph.edges
      .filter((e) => next.has(e.from) && next.has(e.to) && e.from !== e.to) // staying in a category: in the tooltip
      .map((e) => ({ source: e.from, target: e.to, count: e.count }));
    this.sim.nodes([...next.values()]);
    this.sim.force('link').links(links);

    this.edgeSel = this.edgeLayer
      .selectAll('line')
      .data(links, (d) => `${d.source.id}>${d.target.id}`)
      .join('line')
      .attr('stroke-width', (d) => Math.min(8, 1 + Math.sqrt(d.count)))
      .attr('marker-end', 'url(#arrow)');
    this.edgeSel.selectAll('title').data((d) => [d]).join('title')
      .text((d) => `${d.source.name} → ${d.target.name}: ${d.count} transition${d.count === 1 ? '' : 's'}`);

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
      .attr('data-kind', (d) => d.kind);
    this.nodeSel.select('circle.ring').attr('r', (d) => d.ring);
    this.nodeSel.select('circle.dot').attr('r', (d) => d.r);
    this.nodeSel.select('text').attr('y', (d) => Math.max(d.r, d.ring) + 13).text((d) => d.name);
    this.nodeSel.select('title').text((d) => `${d.name} (${d.kind}): short-term ${fmt(d.s)}, long-term ${fmt(d.l)}` +
      (d.stays ? `, ${d.stays} time${d.stays === 1 ? '' : 's'} followed by itself` : ''));

    this.svg.select('desc').text(describe(graph));
    this.run(0.5);
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

const fmt = (v) => (v == null ? '–' : Number(v).toPrecision(2));

/** A text equivalent of the drawing for assistive technology. */
function describe(graph) {
  if (!graph.nodes.length) return 'No interests yet.';
  const top = [...graph.nodes].sort((a, b) => (b.s || 0) - (a.s || 0)).slice(0, 5);
  return `${graph.nodes.length} interests, ${graph.edges.length} transitions. Strongest now: ` +
    top.map((n) => `${n.name} ${fmt(n.s)}`).join(', ') + '.';
}
