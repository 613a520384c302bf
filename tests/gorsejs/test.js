// Gorse's official JavaScript client (npm gorsejs, unchanged) against `vane serve`.
// Usage: node test.js http://127.0.0.1:PORT SECRET   (run from a folder where gorsejs is installed)
const assert = require("assert");
const { Gorse } = require("gorsejs");

async function main() {
  const [endpoint, secret] = process.argv.slice(2);
  const client = new Gorse({ endpoint, secret });
  let n = 0;
  const step = (name) => console.log(`ok   gorsejs ${name}`) || n++;

  assert.strictEqual(await client.upsertItem({ ItemId: "gj-tent", IsHidden: false, Categories: ["Camping gear"],
    Labels: ["tent", "ultralight"], Comment: "Ultralight tent", Timestamp: "2026-11-01T00:00:00Z" }), 1);
  step("upsertItem");
  const item = await client.getItem("gj-tent");
  assert.strictEqual(item.ItemId, "gj-tent");
  assert.deepStrictEqual(item.Categories, ["Camping gear"]);
  assert.strictEqual(item.Comment, "Ultralight tent");
  step("getItem");
  assert.strictEqual(await client.updateItem("gj-tent", { Comment: "Ultralight tent, 2 persons" }), 1);
  assert.strictEqual((await client.getItem("gj-tent")).Comment, "Ultralight tent, 2 persons");
  step("updateItem");
  assert.strictEqual(await client.upsertItems([{ ItemId: "gj-stove", Categories: ["Camping gear"], Comment: "Stove" }]), 1);
  step("upsertItems");

  assert.strictEqual(await client.insertUser({ UserId: "gj-user", Labels: ["outdoor"], Comment: "from gorsejs" }), 1);
  const user = await client.getUser("gj-user");
  assert.strictEqual(user.UserId, "gj-user");
  assert.deepStrictEqual(user.Labels, ["outdoor"]);
  step("insertUser / getUser");

  const feedback = ["i-camping-gear-1", "i-camping-gear-2", "i-camping-gear-3", "gj-tent"].map((id, k) => ({
    FeedbackType: k === 3 ? "like" : "read", UserId: "gj-user", ItemId: id,
    Timestamp: new Date(Date.now() - (4 - k) * 60000).toISOString() }));
  assert.strictEqual(await client.insertFeedbacks(feedback), 4);
  step("insertFeedbacks");
  assert.strictEqual(await client.upsertFeedbacks([feedback[0]]), 1);
  step("upsertFeedbacks");

  const recs = await client.getRecommend({ userId: "gj-user", cursorOptions: { n: 5 } });
  assert.ok(Array.isArray(recs) && recs.length === 5, `recommend: ${JSON.stringify(recs)}`);
  assert.ok(recs.every((id) => typeof id === "string"));
  assert.ok(recs.filter((id) => id.startsWith("i-camping-gear") || id.startsWith("gj-")).length >= 3,
    `camping interest not reflected: ${recs}`);
  step("getRecommend (reflects the feedback just sent)");
  const byCat = await client.getRecommend({ userId: "gj-user", category: "Camping gear", cursorOptions: { n: 3 } });
  assert.ok(byCat.length > 0);
  step("getRecommend by category");

  const neighbors = await client.getItemNeighbors({ itemId: "i-camping-gear-1", cursorOptions: { n: 3 } });
  assert.ok(Array.isArray(neighbors) && neighbors.length > 0 && neighbors[0].Id);
  step("getItemNeighbors");

  assert.strictEqual(await client.deleteItem("gj-stove"), 1);
  assert.strictEqual((await client.getItem("gj-stove")).IsHidden, true);
  step("deleteItem");
  assert.strictEqual(await client.deleteUser("gj-user"), 1);
  await assert.rejects(client.getUser("gj-user"));
  step("deleteUser");
  await assert.rejects(client.getItem("no-such-item"));
  step("unknown item is an error");

  const bad = new Gorse({ endpoint, secret: "wrong-key" });
  await assert.rejects(bad.upsertItem({ ItemId: "x" }));
  step("wrong key refused");
  console.log(`gorsejs: ${n} checks passed`);
}

main().catch((e) => {
  console.error("FAIL gorsejs:", e && e.response ? `${e.response.status} ${JSON.stringify(e.response.data)}` : e);
  process.exit(1);
});
