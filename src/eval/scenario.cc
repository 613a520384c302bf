#include "vane/eval/scenario.h"

#include "vane/text/tokenize.h"

namespace vane {

Result<SeedExampleResult> RunSeedExample(Dataset& ds, Engine& engine, const std::string& user, Timestamp start,
                                         const std::string& category) {
  auto cat = ds.catalog.category_vocab().Find(category);
  if (!cat) return Status::NotFound("category '" + category + "' is not in the catalogue");
  std::vector<ItemIdx> pages, products;
  for (ItemIdx i : ds.catalog.items_by_category()[*cat]) {
    const Item& it = ds.catalog.item(i);
    if (!it.available) continue;
    if (it.type == "page") pages.push_back(i);
    else if (it.type == "product") products.push_back(i);
  }
  if (pages.size() < 3 || products.size() < 3)
    return Status::FailedPrecondition("category '" + category + "' needs >= 3 pages and >= 3 products");

  SeedExampleResult res;
  ImportOptions opt;
  opt.progress = false;
  opt.dedup = false;
  ImportReport report;
  EventCleaner cleaner(ds, opt, report);
  Timestamp t = start;
  auto act = [&](std::string action, std::string item, std::string query, std::string what) -> Status {
    RawEvent e;
    e.user = user;
    e.action = action;
    e.item = item;
    e.query = query;
    e.ts = t;
    e.has_ts = true;
    e.session = user + "-demo";
    const uint64_t line = res.steps.size() + 1;
    if (Status s = cleaner.Add(e, "scenario", line); !s.ok()) return AtRecord(s, "scenario", line);
    engine.Ingest(ds.events.back());
    res.steps.push_back({action, item, query, std::move(what), t});
    t += 40;
    return Status::Ok();
  };
  for (int k = 0; k < 3; ++k) {
    const Item& p = ds.catalog.item(pages[k]);
    VANE_RETURN_IF_ERROR(act("view", p.id, "", "browsed page " + std::to_string(k + 1) + ": " + p.title));
  }
  // The search text: the first two words of product 4's English title, so it finds products 4 and 5's kind.
  const Item& p4 = ds.catalog.item(products[0]);
  auto words = text::Tokenize(p4.title);
  std::string query;
  for (size_t k = 0; k < words.size() && k < 2; ++k) query += (k ? " " : "") + words[k];
  VANE_RETURN_IF_ERROR(act("search", "", query, "searched '" + query + "'"));
  VANE_RETURN_IF_ERROR(act("view", p4.id, "", "viewed product 4 from the results: " + p4.title));
  const Item& p5 = ds.catalog.item(products[1]);
  VANE_RETURN_IF_ERROR(act("view", p5.id, "", "viewed product 5 from the results: " + p5.title));
  const Item& p6 = ds.catalog.item(products[2]);
  VANE_RETURN_IF_ERROR(act("purchase", p6.id, "", "purchased item 6: " + p6.title));

  res.now = t + 60;
  RecommendRequest req;
  req.user = user;
  req.n = 10;
  req.now = res.now;
  req.slate_types = {"page", "product", "video"};
  req.n_per_slate = 1;
  res.recommendations = engine.Recommend(req);
  auto u = ds.users.Find(user);
  res.interests = Describe(engine.interests(), UserIdx(*u), res.now);
  return res;
}

}  // namespace vane
