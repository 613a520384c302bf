import test from 'node:test';
import assert from 'node:assert/strict';
import { compareIds, shortPosition } from '../src/cluster.js';

test('entry ids compare as numbers, milliseconds first', () => {
  assert.ok(compareIds('1000-0', '999-5') > 0);
  assert.ok(compareIds('1000-2', '1000-10') < 0);
  assert.equal(compareIds('7-1', '7-1'), 0);
});

test('a position is shortened to its partition count and newest entry', () => {
  assert.equal(shortPosition('0:1764-0,1:1765-3,2:0-0'), '3 partitions, newest entry 1765-3');
  assert.equal(shortPosition('0:99-10,1:99-9'), '2 partitions, newest entry 99-10');
  assert.equal(shortPosition(''), '–');
  assert.equal(shortPosition(undefined), '–');
});
