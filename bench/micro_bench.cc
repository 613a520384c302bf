// google-benchmark micro benches of the hot paths.
#include <benchmark/benchmark.h>

#include "vane/eval/capture.h"
#include "vane/text/tokenize.h"

namespace {

using namespace vane;

void BM_TokenizeMixed(benchmark::State& st) {
  std::string s = "Trail running shoes 越野跑鞋 超轻 GT-2000 for women";
  for (auto _ : st) benchmark::DoNotOptimize(text::Tokenize(s));
}
BENCHMARK(BM_TokenizeMixed);

struct Fixture {
  Fixture() {
    gen::GenOptions go;
    g = gen::Generate(go);
    ImportReport rep;
    (void)BuildGeneratedDataset(g, ds, rep);
  }
  gen::Generated g;
  Dataset ds;
};

Fixture& Data() {
  static Fixture f;
  return f;
}

void BM_IngestGenerated(benchmark::State& st) {
  Fixture& f = Data();
  for (auto _ : st) {
    Engine engine(f.ds);
    for (const Event& e : f.ds.events) engine.Ingest(e);
    benchmark::DoNotOptimize(engine.interests().num_users());
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * f.ds.events.size()));
}
BENCHMARK(BM_IngestGenerated)->Unit(benchmark::kMillisecond);

void BM_RecommendGenerated(benchmark::State& st) {
  Fixture& f = Data();
  static Engine* engine = [&] {
    auto* e = new Engine(f.ds);
    for (const Event& ev : f.ds.events) e->Ingest(ev);
    return e;
  }();
  size_t k = 0;
  for (auto _ : st) {
    RecommendRequest req;
    req.user = f.ds.users.Name(static_cast<uint32_t>(k++ % f.ds.num_users()));
    req.now = f.ds.events.back().ts + 60;
    benchmark::DoNotOptimize(engine->Recommend(req));
  }
}
BENCHMARK(BM_RecommendGenerated)->Unit(benchmark::kMicrosecond);

}  // namespace
