// End-to-end benchmarks: ingestion rate into the live state, recommendation latency, memory per user.
// Usage: vane_bench ingest|latency|memory --format F --input PATH   (or --scale N for a generated catalogue)
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <unordered_map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "vane/eval/capture.h"
#include "vane/events/formats.h"
#include "vane/model/infer.h"
#include "vane/model/model_source.h"
#include "vane/recommend/blend_config.h"
#include "vane/recommend/engine.h"
#include "vane/serve/service.h"

namespace {

using namespace vane;
using Steady = std::chrono::steady_clock;

std::string Machine() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return fmt::format("{} | {} hardware threads | g++ {}.{} | build {}", model, std::thread::hardware_concurrency(),
                     __GNUC__, __GNUC_MINOR__,
#ifdef NDEBUG
                     "Release"
#else
                     "Debug"
#endif
  );
}

// A synthetic catalogue of `n` items in n/500 categories with words drawn per category, and `events` events by
// users who browse within a category (Zipf popularity), for scale tests of latency.
void MakeScaleDataset(size_t n, size_t events, uint64_t seed, Dataset& ds) {
  ds.name = fmt::format("synthetic-{}-items", n);
  ds.actions = ActionRegistry::Preset("ecommerce").value();
  std::mt19937_64 rng(seed);
  size_t cats = std::max<size_t>(1, n / 500);
  for (size_t i = 0; i < n; ++i) {
    Item it;
    it.id = "x" + std::to_string(i);
    it.type = i % 10 == 0 ? "page" : "product";
    size_t c = i % cats;
    it.categories = {"cat" + std::to_string(c)};
    it.title = fmt::format("w{} w{} w{}", c * 7 + rng() % 7, rng() % 20000, rng() % 20000);
    ds.catalog.Upsert(std::move(it));
  }
  size_t users = std::max<size_t>(1, events / 20);
  std::vector<uint32_t> per_cat_rank;
  for (size_t k = 0; k < events; ++k) {
    size_t u = (k / 20) % users;
    size_t c = (u * 2654435761u + (k / 7)) % cats;
    // Zipf-like within the category: rank = floor(500^(r)) - 1.
    double r = std::uniform_real_distribution<double>(0, 1)(rng);
    size_t rank = static_cast<size_t>(std::pow(500.0, r)) - 1;
    size_t item = std::min(n - 1, c + cats * std::min<size_t>(rank, n / cats - 1));
    Event e;
    e.user = ds.InternUser("u" + std::to_string(u));
    e.item = ItemIdx(static_cast<uint32_t>(item));
    e.action = *ds.actions.Find("view");
    e.ts = 1700000000 + static_cast<Timestamp>(k);
    ds.events.push_back(e);
  }
}

Status LoadData(const std::string& format, const std::string& input, size_t scale, Dataset& ds) {
  if (scale > 0) {
    MakeScaleDataset(scale, scale * 2, 42, ds);
    return Status::Ok();
  }
  if (format == "generated") {
    gen::GenOptions go;
    gen::Generated g = gen::Generate(go);
    ImportReport rep;
    return BuildGeneratedDataset(g, ds, rep);
  }
  auto f = ParseFormat(format);
  if (!f.ok()) return f.status();
  LoadOptions lo;
  lo.import.progress = false;
  ImportReport rep;
  return LoadDataset(*f, input, lo, ds, rep);
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

double UsSince(Steady::time_point t) { return std::chrono::duration<double, std::micro>(Steady::now() - t).count(); }

// Engine over every event of ds; returns the last event time.
Timestamp IngestAll(const Dataset& ds, Engine& engine) {
  Timestamp last = 0;
  for (const Event& e : ds.events) {
    engine.Ingest(e);
    last = std::max(last, e.ts);
  }
  return last;
}

// ingest: replays every event `repeats` times into a fresh engine (best and median rate); memory: the state sizes.
int BenchIngestOrMemory(const Dataset& ds, const std::string& what, size_t repeats) {
  std::vector<double> rates;
  size_t state_bytes = 0, history_bytes = 0, source_bytes = 0, users = 0;
  for (size_t r = 0; r < repeats; ++r) {
    Engine engine(ds);
    auto t = Steady::now();
    for (const Event& e : ds.events) engine.Ingest(e);
    double sec = std::chrono::duration<double>(Steady::now() - t).count();
    rates.push_back(static_cast<double>(ds.events.size()) / sec);
    users = engine.interests().num_users();
    state_bytes = users * InterestStore::kStateBytes;
    history_bytes = engine.interests().HistoryBytes();
    source_bytes = engine.SourceMemoryBytes();
  }
  std::sort(rates.begin(), rates.end());
  if (what == "ingest")
    std::cout << fmt::format("protocol: replay every event in file order into the live state (interest graph + all "
                             "sources), one thread, {} repeats\n",
                             repeats)
              << fmt::format("ingest: best {:.0f} events/s, median {:.0f} events/s ({:.3f} us/event)\n",
                             rates.back(), rates[rates.size() / 2], 1e6 / rates[rates.size() / 2]);
  std::cout << fmt::format(
      "memory: hot interest state {} B/user ({:.3f} KiB) x {} users = {:.2f} MiB | per-user history lists {:.1f} "
      "B/user | global source statistics {:.2f} MiB\n",
      InterestStore::kStateBytes, InterestStore::kStateBytes / 1024.0, users, state_bytes / 1048576.0,
      users ? static_cast<double>(history_bytes) / users : 0.0, source_bytes / 1048576.0);
  return 0;
}

// The model's incremental update alone: states of up to `active` users, one event appended at a time, then the
// catalogue scored from each state.
void BenchModelInference(const Dataset& ds, const SeqModel& model, size_t active) {
  SeqInference inf = SeqInference::FromModel(model);
  const size_t max_len = static_cast<size_t>(model.config().max_len);
  std::vector<SeqInference::State> states(std::min(active, ds.num_users()));
  auto seqs = ds.UserItemSequences();
  std::vector<double> append_us, score_us;
  std::vector<float> scores;
  for (size_t u = 0; u < states.size(); ++u) {
    const auto& q = seqs[u];
    size_t n = std::min<size_t>(q.size(), max_len);
    for (size_t k = q.size() - n; k < q.size(); ++k) {
      auto t = Steady::now();
      inf.Append(states[u], q[k].v);
      append_us.push_back(UsSince(t));
    }
    auto t = Steady::now();
    inf.Score(states[u], scores);
    score_us.push_back(UsSince(t));
  }
  // Only appends into a full window (the steady state of an active user) count for the p99.
  std::vector<double> full;
  size_t idx = 0;
  for (size_t u = 0; u < states.size(); ++u) {
    size_t n = std::min<size_t>(seqs[u].size(), max_len);
    for (size_t k = 0; k < n; ++k, ++idx)
      if (k + 1 == max_len) full.push_back(append_us[idx]);
  }
  std::cout << fmt::format("model: dim {} layers {} heads {} max_len {} | state {} KiB per active user\n",
                           model.config().dim, model.config().layers, model.config().heads, model.config().max_len,
                           inf.StateBytes() / 1024)
            << fmt::format("per-event update (append one event to a cached state), one core: p50 {:.0f} us | p99 {:.0f} us "
                           "| at a full {}-event window: p50 {:.0f} us p99 {:.0f} us ({} samples)\n",
                           Pct(append_us, 0.5), Pct(append_us, 0.99), model.config().max_len, Pct(full, 0.5),
                           Pct(full, 0.99), full.size())
            << fmt::format("score the catalogue from a cached state ({} items): p50 {:.0f} us | p99 {:.0f} us\n",
                           ds.num_items(), Pct(score_us, 0.5), Pct(score_us, 0.99));
  // A whole state from a user's history (a first request, the server's background pass): appending the events one
  // by one against the position-parallel prefill, on the same users; the two must be equal bit for bit.
  std::vector<double> one_us, pre_us;
  size_t differ = 0;
  for (size_t u = 0; u < states.size(); ++u) {
    const auto& q = seqs[u];
    size_t n = std::min<size_t>(q.size(), max_len);
    std::vector<uint32_t> tokens;
    for (size_t k = q.size() - n; k < q.size(); ++k) tokens.push_back(q[k].v);
    SeqInference::State a, b;
    auto t = Steady::now();
    for (uint32_t tok : tokens) inf.Append(a, tok);
    one_us.push_back(UsSince(t));
    t = Steady::now();
    inf.Prefill(b, tokens);
    pre_us.push_back(UsSince(t));
    differ += a.h != b.h || a.k != b.k || a.attended != b.attended;
  }
  double one = 0, pre = 0;
  for (size_t k = 0; k < one_us.size(); ++k) one += one_us[k], pre += pre_us[k];
  std::cout << fmt::format("a state from history ({} users, up to {} events each), one core: one by one p50 {:.0f} us "
                           "p99 {:.0f} us | prefill p50 {:.0f} us p99 {:.0f} us | {:.2f}x in total | states that "
                           "differ: {}\n",
                           one_us.size(), max_len, Pct(one_us, 0.5), Pct(one_us, 0.99), Pct(pre_us, 0.5),
                           Pct(pre_us, 0.99), pre > 0 ? one / pre : 0.0, differ);
}

// Recommend with the model in the blend (warm cache), then ingesting one new event of each cached user.
void BenchModelInEngine(const Dataset& ds, std::shared_ptr<const SeqModel> model, size_t active) {
  std::mt19937_64 rng(11);
  EngineConfig cfg;
  cfg.model_source = [&](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    return std::make_unique<ModelSource>(d, st, model, active);
  };
  Engine engine(ds, cfg);
  const Timestamp last = IngestAll(ds, engine);
  std::vector<std::string> users;
  for (size_t k = 0; k < std::min(active, ds.num_users()); ++k) users.push_back(ds.users.Name(static_cast<uint32_t>(rng() % ds.num_users())));
  std::vector<double> rec_us, ingest_us;
  for (int pass = 0; pass < 2; ++pass) {
    rec_us.clear();
    for (const auto& u : users) {
      RecommendRequest req;
      req.user = u;
      req.now = last + 60;
      auto t = Steady::now();
      RecommendResponse r = engine.Recommend(req);
      rec_us.push_back(UsSince(t));
    }
  }
  // Ingest a new event for cached users: every source plus the model's incremental update.
  for (const auto& u : users) {
    Event e;
    e.user = UserIdx(*ds.users.Find(u));
    e.item = ItemIdx(static_cast<uint32_t>(rng() % ds.num_items()));
    e.action = 0;
    e.ts = last + 120;
    auto t = Steady::now();
    engine.Ingest(e);
    ingest_us.push_back(UsSince(t));
  }
  std::cout << fmt::format("recommend with the model in the blend (n=10, explanations, filters), warm: p50 {:.0f} us | p99 {:.0f} us\n",
                           Pct(rec_us, 0.5), Pct(rec_us, 0.99))
            << fmt::format("ingest one event of an active user (all sources + model update): p50 {:.0f} us | p99 {:.0f} us\n",
                           Pct(ingest_us, 0.5), Pct(ingest_us, 0.99));
}

int BenchModel(const Dataset& ds, const std::string& model_dir, size_t active) {
  auto m = SeqModel::Load(model_dir);
  if (!m.ok()) {
    std::cerr << "error: " << m.status().ToString() << "\n";
    return 1;
  }
  auto model = std::make_shared<const SeqModel>(std::move(m.value()));
  BenchModelInference(ds, *model, active);
  BenchModelInEngine(ds, model, active);
  return 0;
}

// Recommend latency for random users after ingesting every event: a cold pass (the per-item neighbour caches
// build), then the warm pass a running server is in. Both are reported.
int BenchLatency(const Dataset& ds, size_t requests, const EngineConfig& cfg) {
  Engine engine(ds, cfg);
  const Timestamp last = IngestAll(ds, engine);
  std::mt19937_64 rng(7);
  std::vector<double> cold, us;
  us.reserve(requests);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      cold = us;
      us.clear();
    }
    for (size_t k = 0; k < requests; ++k) {
      RecommendRequest req;
      req.user = ds.users.Name(static_cast<uint32_t>(rng() % ds.num_users()));
      req.n = 10;
      req.now = last + 60;
      auto t = Steady::now();
      RecommendResponse r = engine.Recommend(req);
      us.push_back(UsSince(t));
      if (r.items.empty()) std::cerr << "warning: empty recommendation for " << req.user << "\n";
    }
  }
  double mean = 0;
  for (double x : us) mean += x;
  mean /= static_cast<double>(us.size());
  std::cout << fmt::format("cold pass (caches building): p50 {:.0f} us | p99 {:.0f} us | max {:.0f} us\n", Pct(cold, 0.5),
                           Pct(cold, 0.99), Pct(cold, 1.0));
  std::cout << fmt::format("protocol: warm pass, {} Recommend calls (n=10, explanations on, filters on) for random users after "
                           "ingesting all events, one thread, in-process\n",
                           requests)
            << fmt::format("latency: p50 {:.0f} us | p90 {:.0f} us | p99 {:.0f} us | max {:.0f} us | mean {:.0f} us\n",
                           Pct(us, 0.5), Pct(us, 0.9), Pct(us, 0.99), Pct(us, 1.0), mean);
  return 0;
}

// The closed loop, simulated: generated users with known intents (each user's intent is the truth of their last
// generated event) are shown 10 recommendations by an in-process service (memory store), report an impression for
// each with its source, and click an item of their intent with probability 0.25, any other with 0.02. The same
// rounds (same seed) with online adaptation off and on; CTR over all rounds and over the second half.
int BenchLoop(size_t rounds, uint64_t seed) {
  gen::GenOptions go;
  gen::Generated g = gen::Generate(go);
  Dataset data;
  ImportReport report;
  if (Status s = BuildGeneratedDataset(g, data, report); !s.ok()) {
    std::cerr << "error: " << s.ToString() << "\n";
    return 1;
  }
  std::unordered_map<std::string, std::string> intent;
  for (const auto& t : g.truth) intent[t.user] = t.intent;
  std::vector<std::string> users;
  for (uint32_t u = 0; u < data.num_users(); ++u) users.push_back(data.users.Name(u));
  std::cout << fmt::format("protocol: {} rounds of 10 recommendations for random generated users ({} users, {} items); "
                           "click p=0.25 on an item of the user's intent, 0.02 otherwise; seed {}\n",
                           rounds, users.size(), data.num_items(), seed);
  for (bool adapt : {false, true}) {
    ServiceOptions so;
    so.adapt.enabled = adapt;
    so.models_dir = (std::filesystem::temp_directory_path() / "vane_bench_loop").string();
    auto svc = Service::Open(so, &data, NewMemoryStore());
    if (!svc.ok()) {
      std::cerr << "error: " << svc.status().ToString() << "\n";
      return 1;
    }
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> coin(0, 1);
    uint64_t imps[2] = {0, 0}, clicks[2] = {0, 0};
    for (size_t r = 0; r < rounds; ++r) {
      const std::string& user = users[rng() % users.size()];
      RecommendRequest req;
      req.user = user;
      req.n = 10;
      req.explain = false;
      req.now = (*svc)->GetUser(user).value().last_ts + 60;
      auto rec = (*svc)->Recommend(req);
      if (!rec.ok()) continue;
      const std::string strategy = StrategyName(rec->response.strategy);
      const size_t half = r * 2 >= rounds;
      for (const auto& it : rec->response.items) {
        (void)(*svc)->Feedback({user, it.id, "impression", strategy, "", it.source, ""});
        ++imps[half];
        auto item = (*svc)->GetItem(it.id);
        const bool match = item.ok() && !item->categories.empty() && item->categories[0] == intent[user];
        if (coin(rng) < (match ? 0.25 : 0.02)) {
          (void)(*svc)->Feedback({user, it.id, "click", strategy, "", it.source, ""});
          ++clicks[half];
        }
      }
    }
    auto ctr = [](uint64_t c, uint64_t i) { return i ? static_cast<double>(c) / static_cast<double>(i) : 0.0; };
    BlendWeights scale = (*svc)->Recommend(RecommendRequest{.user = users[0], .n = 1}).value().scale;
    std::string scales;
    for (int s = 0; s < kNumSources; ++s) scales += fmt::format("{}{}={:.2f}", s ? " " : "", SourceName(s), scale[s]);
    std::cout << fmt::format("adaptation {:3} | CTR all rounds {:.4f} ({} clicks / {} impressions) | second half {:.4f} | "
                             "final source scales: {}\n",
                             adapt ? "on" : "off", ctr(clicks[0] + clicks[1], imps[0] + imps[1]), clicks[0] + clicks[1],
                             imps[0] + imps[1], ctr(clicks[1], imps[1]), scales);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vane end-to-end benchmarks"};
  std::string what, format = "pairs", input;
  size_t scale = 0, requests = 2000, repeats = 3;
  app.add_option("what", what, "ingest | latency | memory | model | loop")
      ->required()
      ->check(CLI::IsMember({"ingest", "latency", "memory", "model", "loop"}));
  size_t rounds = 20000;
  app.add_option("--rounds", rounds, "loop: recommendation rounds per configuration")->capture_default_str();
  std::string model_dir;
  size_t active = 1000;
  app.add_option("--model", model_dir, "model: a `vane train` directory trained on this dataset");
  app.add_option("--active", active, "model: users with a cached state (the LRU budget)")->capture_default_str();
  app.add_option("--format", format, "dataset format (see vane --help), or generated")->capture_default_str();
  app.add_option("--input", input, "dataset path");
  app.add_option("--scale", scale, "instead of a file: a synthetic catalogue of this many items (2 events per item)");
  app.add_option("--requests", requests, "latency: number of requests")->capture_default_str();
  std::string blend_file;
  app.add_option("--blend", blend_file, "latency: a blend file (`vane eval --save-blend`, with its ranker if it has one)");
  app.add_option("--repeats", repeats, "ingest: repetitions (best and median reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  if (what == "loop") {
    std::cout << "command: " << cmd << "\nmachine: " << Machine() << "\n";
    return BenchLoop(rounds, 42);
  }
  Dataset ds;
  auto t0 = Steady::now();
  Status s = LoadData(format, input, scale, ds);
  if (!s.ok()) {
    std::cerr << "error: " << s.ToString() << "\n";
    return 1;
  }
  double load_s = std::chrono::duration<double>(Steady::now() - t0).count();
  std::cout << "command: " << cmd << "\nmachine: " << Machine() << "\n";
  std::cout << fmt::format("dataset: {} | {} users | {} items | {} events | loaded in {:.2f} s\n", ds.name,
                           ds.num_users(), ds.num_items(), ds.events.size(), load_s);
  if (what == "ingest" || what == "memory") return BenchIngestOrMemory(ds, what, repeats);
  if (what == "model") return BenchModel(ds, model_dir, active);
  EngineConfig cfg;
  if (!blend_file.empty()) {
    auto b = BlendConfig::Load(blend_file);
    if (!b.ok()) {
      std::cerr << "error: " << b.status().ToString() << "\n";
      return 1;
    }
    b->ApplyTo(cfg);
    std::cout << fmt::format("blend: {} ({})\n", blend_file, b->ranker ? "with the learned ranker" : "no ranker");
  }
  return BenchLatency(ds, requests, cfg);
}
