// Unit tests of what the interest graph shows (node --test): idle users by their long-term weights, keywords that
// say something and their links to the categories they came from, the legend's scale.
import test from 'node:test';
import assert from 'node:assert/strict';
import { graphView, keywordHidden, nice, radius, MIN_R, SPAN_R } from '../src/graphview.js';

const cat = (name, s, l) => ({ id: `c:${name}`, kind: 'category', name, s, l });
const kw = (name, s, l, categories) => ({ id: `k:${name}`, kind: 'keyword', name, s, l, categories });

// An idle user as the server answers (u42 of the demo data): short-term weights 0, long-term ones apart.
const IDLE = {
  nodes: [cat('Cooking shows', 0, 14.5), cat('Skincare', 0, 11.65), cat('Finance', 0, 3.9),
    kw('chef', 0, 5.6, [{ id: 'c:Cooking shows', share: 1 }]),
    kw('3', 0, 4.9, [{ id: 'c:Cruises', share: 0.25 }, { id: 'c:Cooking shows', share: 0.2 }]),
    kw('season', 0, 3.6, [{ id: 'c:Cooking shows', share: 0.21 }]),
    kw('plus', 0, 2, [{ id: 'c:Skincare', share: 0.22 }, { id: 'c:Fitness', share: 0.21 }]),
    kw('top', 0, 2, []), kw('gt', 0, 2, [{ id: 'c:Finance', share: 1 }]), kw('the', 0, 2, [{ id: 'c:Finance', share: 1 }]),
    kw('债券', 0, 1.6, [{ id: 'c:Finance', share: 0.9 }]), kw('券', 0, 1, [{ id: 'c:Finance', share: 1 }])],
  edges: [{ from: 'c:Skincare', to: 'c:Finance', count: 3 }, { from: 'c:Finance', to: 'c:Finance', count: 4 }],
};

test('an idle user is drawn by long-term weight, not as equal dots', () => {
  const v = graphView(IDLE, false);
  assert.equal(v.mode, 'long-term');
  const sizes = v.nodes.map((n) => n.size);
  assert.ok(new Set(sizes).size > 3, `sizes ${sizes}`);
  const r = v.nodes.map((n) => radius(n.size, v.scale));
  assert.ok(Math.max(...r) - Math.min(...r) > 10, `radii ${r}`);
  assert.equal(v.scale, 14.5);
  assert.ok(v.nodes.every((n) => n.ring === 0));
  // The same answer read as "now" (the old drawing): every area equal.
  const now = graphView(IDLE, true);
  assert.equal(new Set(now.nodes.map((n) => radius(n.size, now.scale))).size, 1);
});

test('keywords shown: words most of whose items are in one category; fragments, numbers, stop words left out', () => {
  const v = graphView(IDLE, false);
  const shown = v.nodes.filter((n) => n.kind === 'keyword').map((n) => n.name);
  assert.deepEqual(shown, ['chef', '债券']);
  assert.deepEqual(Object.fromEntries(v.hidden.map((x) => [x.name, x.why])), {
    3: 'a number', season: 'spread over many categories', plus: 'spread over many categories',
    top: 'spread over many categories', gt: 'too short', the: 'a stop word', 券: 'too short',
  });
  assert.equal(keywordHidden({ name: 'boots' }), '', 'a server without categories: judged by the word alone');
});

test('each shown keyword is linked to the categories it came from that are drawn', () => {
  const v = graphView(IDLE, false);
  assert.deepEqual(v.keywordLinks, [
    { from: 'k:chef', to: 'c:Cooking shows', share: 1 },
    { from: 'k:债券', to: 'c:Finance', share: 0.9 },
  ]);
  assert.deepEqual(v.transitions, [{ from: 'c:Skincare', to: 'c:Finance', count: 3 }]);
  assert.equal(v.stays.get('c:Finance'), 4);
});

test('the legend states the scale in weights and counts', () => {
  const v = graphView(IDLE, false);
  assert.deepEqual(v.legend.areas, [2.5, 10]);
  assert.deepEqual(v.legend.counts, [1, 4, 16]);
  assert.equal(nice(14.5), 10);
  assert.equal(nice(0.031), 0.02);
  assert.equal(radius(0, 5), MIN_R);
  assert.equal(radius(5, 5), MIN_R + SPAN_R);
  // In a session: areas by short-term weight, rings by long-term.
  const live = graphView({ nodes: [cat('Hiking tours', 3, 3), cat('Skincare', 0, 11.6)], edges: [] }, true);
  assert.equal(live.mode, 'now');
  assert.deepEqual(live.nodes.map((n) => [n.size, n.ring]), [[3, 3], [0, 11.6]]);
});
