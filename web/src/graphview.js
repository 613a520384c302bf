// What the interest graph shows of a user (no DOM: unit-tested under node): which weight sets the node sizes,
// which keywords are worth a node, the links of keywords to the categories they came from, and the scale.
//
// - Sizes. In a session, a node's area is its short-term weight and a dashed ring its long-term weight. Outside one
//   (the server's `in_session`), every short-term weight is ~0 and the areas would all be equal: the area is then
//   the long-term weight, and the page says so.
// - Keywords. A keyword node is shown when it says something about the user's taste: at least 3 letters (2 for
//   Chinese, Japanese or Korean script), not a number, not a stop word, and most (>= KEYWORD_FOCUS) of the
//   catalogue's items holding it are in one category (the server's `categories` of the node). "plus", "top" or
//   "3" appear all over the catalogue and are left out; the legend lists what was left out.
// - Links. Category transitions (arrows, width by count) and, dotted, each shown keyword to the categories it came
//   from that are in the graph.

export const KEYWORD_FOCUS = 0.5;
export const MIN_R = 4;
export const SPAN_R = 22; // radius of a weight equal to the scale

const STOP = new Set(('a about above after again all also am an and any are as at be because been before being both ' +
  'but by can could did do does doing down during each even ever every few for from further get got had has have ' +
  'having he her here hers him his how i if in into is it its just like made make many may me more most much must ' +
  'my new no nor not now of off on once one only or other our out over own per same she should since so some still ' +
  'such than that the their them then there these they this those through to too under until up upon us very was ' +
  'we were what when where which while who whom why will with within without would you your ' +
  '的 了 和 是 在 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 这个 那个 这些 那些 什么 怎么').split(' '));

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;

/** Why a keyword is not shown ('' when it is). node: {name, categories?: [{id, share}]}. */
export function keywordHidden(node) {
  const name = String(node.name || '');
  const length = [...name].length;
  if (/^[\p{N}\p{P}\p{S}]+$/u.test(name)) return 'a number';
  if (length < (CJK.test(name) ? 2 : 3)) return 'too short';
  if (STOP.has(name.toLowerCase())) return 'a stop word';
  // A server without the keyword's categories (older than this page): nothing to judge by.
  if (!Array.isArray(node.categories)) return '';
  const top = Math.max(0, ...node.categories.map((c) => c.share || 0));
  if (top < KEYWORD_FOCUS) return 'spread over many categories';
  return '';
}

/** A round value near v (1, 2 or 5 times a power of ten), for the legend. */
export function nice(v) {
  if (!(v > 0)) return 0;
  const p = 10 ** Math.floor(Math.log10(v));
  const m = v / p;
  return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
}

/**
 * The drawing of a graph answer ({nodes, edges}) for a user in or out of a session:
 * {mode: 'now' | 'long-term', scale, nodes: [{...node, size, ring}] (size/ring: the weights drawn as area and ring,
 * ring 0 when none), hidden: [{name, why}], transitions: [{from, to, count}] (between shown categories, not to
 * themselves), stays: Map(category id -> count of self-transitions), keywordLinks: [{from, to, share}], legend}.
 * legend: {areas: [weights of reference circles], counts: [transition counts of reference widths]}.
 */
export function graphView(graph, inSession) {
  const mode = inSession === false ? 'long-term' : 'now';
  const hidden = [];
  const nodes = [];
  for (const n of graph.nodes || []) {
    const why = n.kind === 'keyword' ? keywordHidden(n) : '';
    if (why) {
      hidden.push({ name: n.name, why });
      continue;
    }
    const s = Math.max(0, n.s || 0);
    const l = Math.max(0, n.l || 0);
    nodes.push({ ...n, size: mode === 'now' ? s : l, ring: mode === 'now' ? l : 0 });
  }
  const scale = Math.max(0, ...nodes.flatMap((n) => [n.size, n.ring])) || 1;
  const ids = new Set(nodes.map((n) => n.id));
  const stays = new Map();
  const transitions = [];
  for (const e of graph.edges || []) {
    if (e.from === e.to) stays.set(e.from, (stays.get(e.from) || 0) + e.count);
    else if (ids.has(e.from) && ids.has(e.to)) transitions.push({ from: e.from, to: e.to, count: e.count });
  }
  const keywordLinks = [];
  for (const n of nodes) {
    if (n.kind !== 'keyword') continue;
    for (const c of n.categories || []) if (ids.has(c.id)) keywordLinks.push({ from: n.id, to: c.id, share: c.share });
  }
  const top = nice(scale);
  const areas = [top / 4, top].filter((v) => v > 0);
  const counts = [1, 4, 16]; // widths 2, 3 and 5 px (edgeWidth): the scale of any graph's arrows
  return { mode, scale, nodes, hidden, transitions, stays, keywordLinks, legend: { areas, counts } };
}

/** The radius of a weight v on a graph of this scale: area grows with the weight (MIN_R for ~0). */
export const radius = (v, scale) => MIN_R + SPAN_R * Math.sqrt(Math.max(0, v || 0) / (scale || 1));

/** The stroke width of a transition count. */
export const edgeWidth = (count) => Math.min(8, 1 + Math.sqrt(count));

/** A weight for people: two significant digits ("0.0031", "2.4", "15"). */
export const weight = (v) => (v == null ? '–' : Number(Number(v).toPrecision(2)).toString());
