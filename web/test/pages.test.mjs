// Unit tests of the words the pages show (node --test): ids in human words, the Models summary, the address.
import test from 'node:test';
import assert from 'node:assert/strict';
import { strategyName, sourceName, words } from '../src/labels.js';
import { modelsSummary } from '../src/modelview.js';
import { parseRoute, formatRoute } from '../src/route.js';

test('strategy and source ids read as words', () => {
  assert.equal(strategyName('stable_taste'), 'Stable taste');
  assert.equal(strategyName('session_intent'), 'Focused session');
  assert.equal(sourceName('item_knn'), 'Similar to your history');
  assert.equal(sourceName('interest_now'), 'Current interests');
  assert.equal(words('some_new_source'), 'Some new source');
  for (const id of ['new_user', 'session_intent', 'stable_taste']) assert.doesNotMatch(strategyName(id), /_/);
  for (const id of ['popular', 'covisit', 'content', 'interest_now', 'interest_long', 'item_knn', 'model']) assert.doesNotMatch(sourceName(id), /_/);
});

test('a model given with --model: serving, where from, not kept; the table text agrees', () => {
  const m = modelsSummary({ current: 'ext-3f2a9c0d11b2', current_path: 'data/model', training: false, versions: [] });
  assert.equal(m.serving, 'Serving ext-3f2a9c0d11b2 (loaded from --model data/model, not a kept version).');
  assert.equal(m.kept, false);
  assert.match(m.empty, /^No kept version yet: the serving model ext-3f2a9c0d11b2 was given with --model/);
  assert.doesNotMatch(m.empty, /^No version yet/);
});

test('a kept version, none, and training', () => {
  const kept = modelsSummary({ current: 'v2', current_path: 'data/models/v2', training: true, versions: [{ version: 'v1' }, { version: 'v2' }] });
  assert.equal(kept.serving, 'Serving v2 (a kept version, loaded from data/models/v2). · a new version is training…');
  assert.equal(kept.kept, true);
  const none = modelsSummary({ current: 'none', current_path: '', training: false, versions: [] });
  assert.equal(none.serving, 'No behaviour model serves: recommendations come from the other sources.');
  assert.equal(none.empty, 'No kept version yet: press “Retrain now” to train one.');
});

test('a user has an address: #/user/<id>, read back, ?user= accepted', () => {
  for (const id of ['u42', 'a b/c?d#e', '用户7', '%41']) {
    const hash = formatRoute({ tab: 'live', user: id });
    assert.deepEqual(parseRoute(hash, ''), { tab: 'live', user: id }, hash);
  }
  assert.equal(formatRoute({ tab: 'live', user: 'u42' }), '#/user/u42');
  assert.equal(formatRoute({ tab: 'models', user: 'u42' }), '#models');
  assert.deepEqual(parseRoute('', '?user=u7'), { tab: 'live', user: 'u7' });
  assert.deepEqual(parseRoute('#service', ''), { tab: 'service', user: '' });
  assert.deepEqual(parseRoute('#nonsense', ''), { tab: 'live', user: '' });
  assert.deepEqual(parseRoute('#/user/%E0%A4%A', ''), { tab: 'live', user: '%E0%A4%A' }); // malformed escape
});
