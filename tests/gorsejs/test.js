// Gorse's official JavaScript client (npm gorsejs, unchanged) against `vane serve`: every method of the client is
// called and its answer checked; the test fails when the client has a method it did not call.
// Usage: node test.js http://127.0.0.1:PORT SECRET   (run from a folder where gorsejs is installed; the server runs
// with VANE_GORSE_POSITIVE_FEEDBACK_TYPES=star,like,upvote and VANE_GORSE_READ_FEEDBACK_TYPES=read,watch)
const assert = require("assert");
const { Gorse } = require("gorsejs");

async function main() {
  const [endpoint, secret] = process.argv.slice(2);
  const called = new Set();
  const raw = new Gorse({ endpoint, secret });
  const client = new Proxy(raw, {
    get(target, name) {
      const v = target[name];
      if (typeof v !== "function") return v;
      return (...args) => {
        called.add(name);
        return v.apply(target, args);
      };
    },
  });
  let n = 0;
  const step = (name) => console.log(`ok   gorsejs ${name}`) || n++;
  const ago = (min) => new Date(Date.now() - min * 60000).toISOString();

  // ---- items ----
  assert.strictEqual(await client.upsertItem({ ItemId: "gj-tent", IsHidden: false, Categories: ["Camping gear"],
    Labels: ["tent", "ultralight"], Comment: "Ultralight tent", Timestamp: "2026-11-01T00:00:00.000Z" }), 1);
  step("upsertItem");
  const item = await client.getItem("gj-tent");
  assert.deepStrictEqual(item, { ItemId: "gj-tent", IsHidden: false, Categories: ["Camping gear"],
    Labels: ["tent", "ultralight"], Comment: "Ultralight tent", Timestamp: "2026-11-01T00:00:00Z" });
  step("getItem (every field as sent; JavaScript's milliseconds dropped as Gorse drops them)");
  assert.strictEqual(await client.updateItem("gj-tent", { Comment: "Ultralight tent, 2 persons" }), 1);
  const updated = await client.getItem("gj-tent");
  assert.strictEqual(updated.Comment, "Ultralight tent, 2 persons");
  assert.strictEqual(updated.Timestamp, "2026-11-01T00:00:00Z", "a patch keeps the other fields");
  step("updateItem");
  assert.strictEqual(await client.upsertItems([
    { ItemId: "gj-stove", Categories: ["Camping gear"], Comment: "Stove", Timestamp: "2026-11-02T00:00:00Z" },
    { ItemId: "gj-lamp", Categories: ["Camping gear"], Labels: ["red, blue"], Comment: "Lamp",
      Timestamp: "2026-11-03T00:00:00Z" }]), 2);
  assert.deepStrictEqual((await client.getItem("gj-lamp")).Labels, ["red, blue"], "a label with a comma stays whole");
  step("upsertItems");
  assert.strictEqual(await client.insertItemCategory("gj-tent", "Tents"), 1);
  assert.deepStrictEqual((await client.getItem("gj-tent")).Categories, ["Camping gear", "Tents"]);
  step("insertItemCategory");
  assert.strictEqual(await client.deleteItemCategory("gj-tent", "Tents"), 1);
  assert.deepStrictEqual((await client.getItem("gj-tent")).Categories, ["Camping gear"]);
  step("deleteItemCategory");
  // Cursor paging: every item exactly once, in id order, across pages of 7.
  const seen = [];
  let cursor = "";
  for (let page = 0; page < 1000; ++page) {
    const r = await client.getItems({ n: 7, Cursor: cursor });
    assert.ok(Array.isArray(r.Items) && r.Items.length <= 7);
    seen.push(...r.Items.map((x) => x.ItemId));
    cursor = r.Cursor;
    if (!cursor) break;
  }
  assert.ok(seen.length > 100, `only ${seen.length} items listed`);
  assert.deepStrictEqual(seen, [...seen].sort(), "in id order");
  assert.strictEqual(new Set(seen).size, seen.length, "no item twice");
  assert.ok(["gj-lamp", "gj-stove", "gj-tent"].every((id) => seen.includes(id)));
  step(`getItems (${seen.length} items over cursor pages of 7)`);

  // ---- non-personalised lists: the trailing slash gorsejs sends without a category ----
  const latest = await client.getLatest({ cursorOptions: { n: 3 } });
  assert.deepStrictEqual(latest.map((x) => x.Id), ["gj-lamp", "gj-stove", "gj-tent"],
    "the items' Timestamps order the latest list");
  assert.strictEqual(latest[0].Score, Date.parse("2026-11-03T00:00:00Z") / 1000);
  step("getLatest (/api/latest/)");
  const latestCamping = await client.getLatest({ category: "Camping gear", cursorOptions: { n: 2, offset: 1 } });
  assert.deepStrictEqual(latestCamping.map((x) => x.Id), ["gj-stove", "gj-tent"]);
  step("getLatest by category, with offset");
  const popular = await client.getPopular({ cursorOptions: { n: 5 } });
  assert.strictEqual(popular.length, 5);
  assert.ok(popular.every((x, k) => typeof x.Id === "string" && (k === 0 || x.Score <= popular[k - 1].Score)));
  step("getPopular (/api/popular/)");

  // ---- users ----
  assert.strictEqual(await client.insertUser({ UserId: "gj-user", Labels: ["outdoor"], Comment: "from gorsejs" }), 1);
  assert.deepStrictEqual(await client.getUser("gj-user"),
    { UserId: "gj-user", Labels: ["outdoor"], Comment: "from gorsejs", Subscribe: [] });
  step("insertUser / getUser");
  assert.strictEqual(await client.insertUsers([{ UserId: "gj-user-2", Comment: "second" }, { UserId: "gj-user-3" }]), 2);
  assert.strictEqual((await client.getUser("gj-user-2")).Comment, "second");
  step("insertUsers");
  assert.strictEqual(await client.updateUser("gj-user-3", { Comment: "third" }), 1);
  assert.strictEqual((await client.getUser("gj-user-3")).Comment, "third");
  step("updateUser");
  const users = [];
  cursor = "";
  for (let page = 0; page < 1000; ++page) {
    const r = await client.getUsers({ n: 50, Cursor: cursor });
    users.push(...r.Users.map((u) => u.UserId));
    cursor = r.Cursor;
    if (!cursor) break;
  }
  assert.ok(["gj-user", "gj-user-2", "gj-user-3"].every((id) => users.includes(id)), "users with a record only are listed");
  assert.deepStrictEqual(users, [...users].sort());
  assert.strictEqual(new Set(users).size, users.length);
  step(`getUsers (${users.length} users over cursor pages of 50)`);

  // ---- feedback: custom types stored and read back as sent ----
  const feedback = ["i-camping-gear-1", "i-camping-gear-2", "i-camping-gear-3", "gj-tent"].map((id, k) => ({
    FeedbackType: ["read", "watch", "upvote", "star"][k], UserId: "gj-user", ItemId: id, Timestamp: ago(4 - k) }));
  assert.strictEqual(await client.insertFeedbacks(feedback), 4);
  step("insertFeedbacks");
  assert.strictEqual(await client.upsertFeedbacks([feedback[0]]), 1);
  step("upsertFeedbacks");
  const mine = await client.getUserFeedback("gj-user");
  assert.deepStrictEqual(mine.map((f) => [f.FeedbackType, f.ItemId]).sort(),
    [["read", "i-camping-gear-1"], ["star", "gj-tent"], ["upvote", "i-camping-gear-3"], ["watch", "i-camping-gear-2"]],
    "every type reads back as sent (star is not like, read and watch are not view, upvote is not like)");
  step("getUserFeedback");
  const stars = await client.getUserFeedbackByType("gj-user", "star");
  assert.deepStrictEqual(stars.map((f) => f.ItemId), ["gj-tent"]);
  assert.strictEqual(stars[0].Timestamp, feedback[3].Timestamp.replace(/\.\d+Z$/, "Z"));
  step("getUserFeedbackByType");
  const one = await client.getFeedback({ type: "star", userId: "gj-user", itemId: "gj-tent" });
  assert.strictEqual(one.FeedbackType, "star");
  assert.strictEqual(one.UserId, "gj-user");
  assert.strictEqual(one.ItemId, "gj-tent");
  step("getFeedback");
  const onTent = await client.getItemFeedback("gj-tent");
  assert.deepStrictEqual(onTent.map((f) => [f.FeedbackType, f.UserId]), [["star", "gj-user"]]);
  step("getItemFeedback");
  const watched = await client.getItemFeedbackByType("i-camping-gear-2", "watch");
  assert.ok(watched.some((f) => f.UserId === "gj-user" && f.FeedbackType === "watch"));
  assert.ok(watched.every((f) => f.FeedbackType === "watch"));
  step("getItemFeedbackByType");
  // The whole log, paged: the four sent above are in it, once each.
  const all = [];
  cursor = "";
  for (let page = 0; page < 10000; ++page) {
    const r = await client.getFeedbacks(undefined, { n: 1000, Cursor: cursor });
    const list = r.Feedbacks;
    assert.ok(Array.isArray(list));
    all.push(...list);
    cursor = r.Cursor;
    if (!cursor) break;
  }
  const gj = all.filter((f) => f.UserId === "gj-user").map((f) => f.FeedbackType).sort();
  assert.deepStrictEqual(gj, ["read", "star", "upvote", "watch"]);
  step(`getFeedbacks (${all.length} records over cursor pages of 1000)`);
  const byType = await client.getFeedbacks("upvote", { n: 10 });
  assert.deepStrictEqual(byType.Feedbacks.map((f) => [f.UserId, f.ItemId]), [["gj-user", "i-camping-gear-3"]]);
  assert.strictEqual(byType.Cursor, "");
  step("getFeedbacks by type");

  // ---- recommendations ----
  const recs = await client.getRecommend({ userId: "gj-user", cursorOptions: { n: 5 } });
  assert.ok(Array.isArray(recs) && recs.length === 5, `recommend: ${JSON.stringify(recs)}`);
  assert.ok(recs.every((id) => typeof id === "string"));
  assert.ok(recs.filter((id) => id.startsWith("i-camping-gear") || id.startsWith("gj-")).length >= 3,
    `camping interest not reflected: ${recs}`);
  step("getRecommend (reflects the feedback just sent)");
  const byCat = await client.getRecommend({ userId: "gj-user", category: "Camping gear", cursorOptions: { n: 3 } });
  assert.ok(byCat.length > 0);
  for (const id of byCat) assert.ok((await raw.getItem(id)).Categories.includes("Camping gear"), id);
  step("getRecommend by category");
  const written = await client.getRecommend({ userId: "gj-user-2", writeBackType: "read", writeBackDelay: "1m",
    cursorOptions: { n: 2 } });
  assert.strictEqual(written.length, 2);
  const back = await raw.getUserFeedbackByType("gj-user-2", "read");
  assert.deepStrictEqual(back.map((f) => f.ItemId).sort(), [...written].sort(), "write-back stored the answer as read");
  const delay = Date.parse(back[0].Timestamp) - Date.now();
  assert.ok(delay > 30000 && delay <= 61000, `write-back dated ${delay} ms ahead, not 1m`);
  step("getRecommend with write-back");
  const session = await client.getSessionRecommend([{ FeedbackType: "star", UserId: "anonymous",
    ItemId: "i-camping-gear-1", Timestamp: ago(1) }], { cursorOptions: { n: 4 } });
  assert.ok(Array.isArray(session) && session.length === 4, JSON.stringify(session));
  assert.ok(session.every((x) => x.Id !== "i-camping-gear-1"), "the session's own item is left out");
  assert.ok(session.filter((x) => x.Id.startsWith("i-camping-gear")).length >= 2, JSON.stringify(session));
  await assert.rejects(raw.getUser("anonymous"), "a session is not stored");
  step("getSessionRecommend");
  const neighbors = await client.getItemNeighbors({ itemId: "i-camping-gear-1", cursorOptions: { n: 3 } });
  assert.ok(Array.isArray(neighbors) && neighbors.length === 3 && neighbors[0].Id, JSON.stringify(neighbors));
  const campNeighbors = await raw.getItemNeighbors({ itemId: "gj-tent", category: "Camping gear", cursorOptions: { n: 3 } });
  for (const x of campNeighbors) assert.ok((await raw.getItem(x.Id)).Categories.includes("Camping gear"), x.Id);
  step("getItemNeighbors");
  // Another user with the same taste is gj-user's nearest neighbour.
  await raw.insertFeedbacks(feedback.map((f) => ({ ...f, UserId: "gj-twin" })));
  const twins = await client.getUserNeighbors({ userId: "gj-user", cursorOptions: { n: 3 } });
  assert.strictEqual(twins[0].Id, "gj-twin", JSON.stringify(twins));
  step("getUserNeighbors");

  // ---- deletions ----
  assert.strictEqual((await client.deleteFeedback({ type: "star", userId: "gj-user", itemId: "gj-tent" })).RowAffected, 1);
  await assert.rejects(raw.getFeedback({ type: "star", userId: "gj-user", itemId: "gj-tent" }));
  const left = await raw.getUserFeedback("gj-user");
  assert.deepStrictEqual(left.map((f) => f.FeedbackType).sort(), ["read", "upvote", "watch"], "the others stay");
  assert.strictEqual((await raw.getUser("gj-user")).Comment, "from gorsejs", "and so does the user's record");
  step("deleteFeedback");
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

  const methods = Object.getOwnPropertyNames(Gorse.prototype).filter((m) => m !== "constructor");
  const missed = methods.filter((m) => !called.has(m));
  assert.deepStrictEqual(missed, [], `client methods never called: ${missed}`);
  console.log(`gorsejs: ${n} checks passed; all ${methods.length} client methods called`);
}

main().catch((e) => {
  console.error("FAIL gorsejs:", e && e.response ? `${e.response.status} ${JSON.stringify(e.response.data)}` : e);
  process.exit(1);
});
