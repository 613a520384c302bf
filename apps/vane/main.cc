// vane: the command-line tool. Parses flags and calls the library; no logic of its own beyond printing.
#include <chrono>
#include <malloc.h>

#include <csignal>
#include <cstdlib>
#include <thread>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"
#include "vane/core/strings.h"
#include "vane/eval/capture.h"
#include "vane/eval/evaluator.h"
#include "vane/eval/plot.h"
#include "vane/eval/scenario.h"
#include "vane/events/export.h"
#include "vane/events/formats.h"
#include "vane/gen/generator.h"
#include "vane/interest/describe.h"
#include "vane/model/infer.h"
#include "vane/model/interest_text.h"
#include "vane/model/model_source.h"
#include "vane/model/seq_model.h"
#include "vane/registry/registry.h"
#include "vane/serve/http.h"
#include "vane/serve/json.h"
#include "vane/serve/service.h"
#include "vane/text/subword.h"
#include "vane/text/word_vectors.h"

namespace {

using namespace vane;

// Exit codes: 0 ok, 1 runtime failure (I/O, data), 2 bad usage.
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

struct DataFlags {
  std::string format = "generated";
  std::string input;
  std::string on_error = "skip";
  size_t max_events = 0;
  uint64_t seed = 42;
  int users = 300;
  bool quiet = false;
};

void AddDataFlags(CLI::App* app, DataFlags& f) {
  app->add_option("--format", f.format,
                  "generated (built-in demo data), vane, ml-100k, ml-csv, ml-1m, pairs, sequences, yoochoose, "
                  "diginetica, taobao")
      ->capture_default_str();
  app->add_option("--input", f.input, "file or folder to read (not needed for --format generated)");
  app->add_option("--on-error", f.on_error, "skip: report bad records and go on; fail: stop at the first")
      ->check(CLI::IsMember({"skip", "fail"}))
      ->capture_default_str();
  app->add_option("--max-events", f.max_events, "stop after this many accepted events (0 = all)");
  app->add_option("--seed", f.seed, "seed of the generated data")->capture_default_str();
  app->add_option("--users", f.users, "users of the generated data")->capture_default_str();
  app->add_flag("--quiet", f.quiet, "no progress bar or import summary");
}

// Loads the dataset named by the flags. Generated data also returns its truth (for capture).
Status Load(const DataFlags& f, Dataset& ds, gen::Generated* gen_out = nullptr) {
  ImportReport report;
  if (f.format == "generated") {
    gen::GenOptions go;
    go.seed = f.seed;
    go.users = f.users;
    gen::Generated g = gen::Generate(go);
    VANE_RETURN_IF_ERROR(BuildGeneratedDataset(g, ds, report));
    if (gen_out) *gen_out = std::move(g);
    return Status::Ok();
  }
  auto fmt = ParseFormat(f.format);
  if (!fmt.ok()) return fmt.status();
  if (f.input.empty()) return Status::InvalidArgument("--input is required with --format " + f.format);
  LoadOptions lo;
  lo.import.on_error = f.on_error == "fail" ? OnError::kFail : OnError::kSkip;
  lo.import.progress = !f.quiet;
  lo.max_events = f.max_events;
  Status s = LoadDataset(*fmt, f.input, lo, ds, report);
  if (!f.quiet || !s.ok()) report.Print(std::cerr, 10);
  return s;
}

// Installs a trained sequence model (a `vane train` directory) as the blend's model source.
// The subword tokenizer saved beside a model (`dir`/subword.model): it embeds searches of queries the model has not
// seen. Null when the model has none.
Result<std::shared_ptr<const text::SubwordTokenizer>> LoadModelTokenizer(const std::string& dir) {
  if (!std::filesystem::exists(dir + "/subword.model")) return std::shared_ptr<const text::SubwordTokenizer>();
  auto t = text::SubwordTokenizer::Load(dir + "/subword.model");
  if (!t.ok()) return t.status();
  return std::make_shared<const text::SubwordTokenizer>(std::move(t.value()));
}

// The blend's model slot for a trained model, with the two serving caches bounded (model/model_source.h).
SourceFactory ModelSourceFactory(std::shared_ptr<const SeqModel> model, std::shared_ptr<const text::SubwordTokenizer> tok,
                                 size_t cache_users, size_t cache_vectors) {
  return [model, tok, cache_users, cache_vectors](const Dataset& ds, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    return std::make_unique<ModelSource>(ds, st, model, cache_users, 50000, tok, cache_vectors);
  };
}

// `exact`: the model must have been trained on exactly this catalogue (offline use). The service passes false: its
// live catalogue only grows (items are interned in arrival order), and items newer than the model are skipped.
// The model at `dir` joins the blend; the subword tokenizer saved beside it (if any) embeds searches of queries the
// model has not seen. cache_users / cache_vectors bound the two serving caches (model/model_source.h).
Status UseModel(const std::string& dir, const Dataset& ds, EngineConfig& cfg, size_t cache_users = 1000,
                bool exact = true, size_t cache_vectors = 100000) {
  if (dir.empty()) return Status::Ok();
  auto m = SeqModel::Load(dir);
  if (!m.ok()) return m.status();
  if (exact && m->num_items() != ds.num_items())
    return Status::InvalidArgument(fmt::format("{}: the model was trained on {} items, this data has {}", dir,
                                               m->num_items(), ds.num_items()));
  auto tok = LoadModelTokenizer(dir);
  if (!tok.ok()) return tok.status();
  cfg.model_source = ModelSourceFactory(std::make_shared<const SeqModel>(std::move(m.value())), tok.value(), cache_users,
                                        cache_vectors);
  return Status::Ok();
}

// Side information for the model: item text through vane's own subword tokenizer (trained on the catalogue and the
// query text, saved with the model), the subword pieces of every search query, each item's main category (for the
// interest head), the most common item keywords (for the keyword head) and, optionally, pre-trained word vectors.
struct SideInfo {
  ItemText text;
  ItemCategories cats;
  ItemKeywords keywords;
  std::optional<text::SubwordTokenizer> tokenizer;
};

struct SideOptions {
  bool text = true;
  int text_vocab = 8000;
  int keywords = 256;        // keyword head size (0: no head)
  std::string word_vectors;  // "" = none
  bool quiet = false;
};

Result<SideInfo> BuildSideInfo(const Dataset& ds, const SideOptions& so) {
  SideInfo side;
  if (so.text) {
    std::vector<std::string> texts(ds.num_items());
    size_t with_text = 0;
    for (uint32_t i = 0; i < ds.num_items(); ++i) {
      const Item& it = ds.catalog.item(ItemIdx(i));
      std::string t = it.title;
      for (const auto& c : it.categories) t += " " + c;
      if (!it.text.empty()) t += " " + it.text;
      with_text += !text::Normalize(t).empty();
      texts[i] = std::move(t);
    }
    std::vector<std::string> corpus = texts;
    for (uint32_t q = 0; q < ds.queries.size(); ++q) corpus.push_back(ds.queries.Name(q));
    if (with_text > 0 || ds.queries.size() > 0) {
      text::SubwordTokenizer::Options to;
      to.vocab_size = so.text_vocab;
      auto tok = text::SubwordTokenizer::Train(corpus, to);
      if (!tok.ok()) return tok.status();
      side.text.vocab_size = tok->vocab_size();
      for (const auto& t : texts) {
        auto ids = tok->Encode(t);
        if (ids.size() > 32) ids.resize(32);
        side.text.pieces.push_back(std::move(ids));
      }
      for (uint32_t q = 0; q < ds.queries.size(); ++q) {
        auto ids = tok->Encode(ds.queries.Name(q));
        if (ids.size() > 16) ids.resize(16);
        side.text.query_pieces.push_back(std::move(ids));
      }
      if (!so.word_vectors.empty()) {
        // Word vectors for the pieces that are whole words (sentencepiece marks a word start with U+2581).
        std::unordered_map<std::string, int> want;
        for (int p = 0; p < tok->vocab_size(); ++p) {
          std::string w = tok->Piece(p);
          if (w.rfind("\xe2\x96\x81", 0) == 0) w = w.substr(3);
          if (!w.empty()) want.emplace(w, p);
        }
        auto wv = text::LoadWordVectors(so.word_vectors, [&](const std::string& w) { return want.count(w) > 0; });
        if (!wv.ok()) return wv.status();
        side.text.init_dim = wv->dim;
        side.text.init.assign(static_cast<size_t>(tok->vocab_size()) * wv->dim, 0.0f);
        side.text.init_known.assign(static_cast<size_t>(tok->vocab_size()), 0);
        for (const auto& [w, vec] : wv->vectors) {
          int p = want.at(w);
          std::copy(vec.begin(), vec.end(), side.text.init.begin() + static_cast<std::ptrdiff_t>(p) * wv->dim);
          side.text.init_known[static_cast<size_t>(p)] = 1;
        }
        if (!so.quiet)
          std::cerr << fmt::format("word vectors: {} of {} subword pieces initialised from {} ({} vectors, {} dims)\n",
                                   wv->vectors.size(), tok->vocab_size(), so.word_vectors, wv->lines, wv->dim);
      }
      side.tokenizer = std::move(tok.value());
      if (!so.quiet)
        std::cerr << fmt::format("item text: {} of {} items have text; {} queries; {} subword pieces\n", with_text,
                                 ds.num_items(), ds.queries.size(), side.text.vocab_size);
    }
  }
  side.cats.num_categories = static_cast<int>(ds.catalog.category_vocab().size());
  for (uint32_t i = 0; i < ds.num_items(); ++i) {
    auto c = ds.catalog.categories(ItemIdx(i));
    side.cats.main.push_back(c.empty() ? -1 : static_cast<int32_t>(c[0]));
  }
  if (so.keywords > 0) {
    // The keyword head predicts the next item's keywords among the `keywords` most common ones (by item count).
    std::vector<uint32_t> df(ds.catalog.keyword_vocab().size(), 0);
    for (uint32_t i = 0; i < ds.num_items(); ++i)
      for (uint32_t k : ds.catalog.keywords(ItemIdx(i))) ++df[k];
    std::vector<uint32_t> order;
    for (uint32_t k = 0; k < df.size(); ++k)
      if (df[k] >= 2) order.push_back(k);  // a keyword of one item says nothing an item id does not
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return df[a] > df[b] || (df[a] == df[b] && a < b); });
    if (order.size() > static_cast<size_t>(so.keywords)) order.resize(static_cast<size_t>(so.keywords));
    std::vector<int> dense(df.size(), -1);
    for (size_t j = 0; j < order.size(); ++j) {
      dense[order[j]] = static_cast<int>(j);
      side.keywords.names.push_back(ds.catalog.keyword_vocab().Name(order[j]));
    }
    side.keywords.ids.resize(ds.num_items());
    for (uint32_t i = 0; i < ds.num_items(); ++i)
      for (uint32_t k : ds.catalog.keywords(ItemIdx(i)))
        if (dense[k] >= 0 && side.keywords.ids[i].size() < 8) side.keywords.ids[i].push_back(dense[k]);
  }
  return side;
}

int Fail(const Status& s) {
  std::cerr << "error: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFail;
}

// Ingests every event (time order when timestamped) and reports the rate.
void IngestAll(const Dataset& ds, Engine& engine, bool quiet) {
  std::vector<uint32_t> order(ds.events.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (ds.has_timestamps)
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return ds.events[a].ts < ds.events[b].ts; });
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i : order) engine.Ingest(ds.events[i]);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    std::cerr << fmt::format("ingested {} events for {} users in {:.3f} s ({:.0f} events/s)\n", ds.events.size(),
                             ds.num_users(), s, s > 0 ? ds.events.size() / s : 0.0);
}

Timestamp DataNow(const Dataset& ds) {
  Timestamp t = 0;
  for (const Event& e : ds.events) t = std::max(t, e.ts);
  return t + 60;
}

void PrintRecs(const RecommendResponse& r, bool zh) {
  std::cout << fmt::format("strategy: {} ({})\n", StrategyName(r.strategy), r.strategy_reason);
  int k = 0;
  for (const auto& x : r.items)
    std::cout << fmt::format("{:2}. [{}] {} \"{}\"  score {:.3f} via {}\n      {}\n", ++k, x.type, x.id, x.title,
                             x.score, x.source, zh ? x.reason_zh : x.reason_en);
  for (const auto& [t, v] : r.slates) {
    std::cout << "slate " << t << ":\n";
    for (const auto& x : v)
      std::cout << fmt::format("    {} \"{}\" - {}\n", x.id, x.title, zh ? x.reason_zh : x.reason_en);
    if (v.empty()) std::cout << "    (no available item of this type)\n";
  }
}

}  // namespace

std::atomic<bool> g_stop{false};

Result<Scope> ParseScope(const std::string& s) {
  if (s == "read") return Scope::kRead;
  if (s == "write") return Scope::kWrite;
  if (s == "admin") return Scope::kAdmin;
  return Status::InvalidArgument("API key scope must be read, write or admin, got '" + s + "'");
}

// KEY:SCOPE
Status AddKey(const std::string& spec, HttpOptions& ho) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("API key must be KEY:SCOPE (scope read, write or admin)");
  auto scope = ParseScope(spec.substr(colon + 1));
  if (!scope.ok()) return scope.status();
  ho.keys.push_back({spec.substr(0, colon), *scope});
  return Status::Ok();
}

// The model `vane serve` trains in the background. The defaults are the demo's size (seconds on the demo data); the
// [training] section of the configuration sets the full size (e.g. dim 64, max_len 200, batch 128, lr 0.001,
// threads 2 for the ML-1M configuration of BENCHMARKS.md §4).
struct TrainerSpec {
  int dim = 32, layers = 2, max_len = 50, batch = 32, epochs = 10, patience = 5, negatives = 0, threads = 1;
  double lr = 5e-3;
};

// Configuration: TOML file, then VANE_* environment variables, then command-line flags (given flags win).
Status ApplyConfig(const std::string& path, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                   TrainerSpec& spec) {
  if (!path.empty()) {
    try {
      toml::table t = toml::parse_file(path);
      if (!cmd->count("--host")) ho.host = t["server"]["host"].value_or(ho.host);
      if (!cmd->count("--port")) ho.port = t["server"]["port"].value_or(ho.port);
      if (!cmd->count("--threads")) ho.threads = t["server"]["threads"].value_or(ho.threads);
      ho.max_body_bytes = t["server"]["max_body_bytes"].value_or(static_cast<int64_t>(ho.max_body_bytes));
      if (!cmd->count("--store")) so.store_dir = t["store"]["dir"].value_or(so.store_dir);
      if (!cmd->count("--model")) model = t["model"]["dir"].value_or(model);
      if (!cmd->count("--retrain-every")) so.retrain_every_s = t["model"]["retrain_every_s"].value_or(so.retrain_every_s);
      if (!cmd->count("--model-cache-users"))
        so.model_cache_users = t["model"]["cache_users"].value_or(static_cast<int64_t>(so.model_cache_users));
      if (!cmd->count("--model-cache-vectors"))
        so.model_cache_vectors = t["model"]["cache_vectors"].value_or(static_cast<int64_t>(so.model_cache_vectors));
      so.max_batch = t["server"]["max_batch"].value_or(static_cast<int64_t>(so.max_batch));
      so.memory_events = t["memory"]["events"].value_or(static_cast<int64_t>(so.memory_events));
      if (auto* tr = t["training"].as_table()) {
        for (auto& [k, v] : *tr) {
          std::string key(k.str());
          int* field = key == "dim" ? &spec.dim : key == "layers" ? &spec.layers : key == "max_len" ? &spec.max_len
                     : key == "batch" ? &spec.batch : key == "epochs" ? &spec.epochs : key == "patience" ? &spec.patience
                     : key == "negatives" ? &spec.negatives : key == "threads" ? &spec.threads : nullptr;
          if (field && v.is_integer()) {
            if (key != "epochs" || !cmd->count("--train-epochs")) *field = static_cast<int>(*v.value<int64_t>());
          } else if (key == "lr" && (v.is_floating_point() || v.is_integer())) {
            spec.lr = *v.value<double>();
          } else {
            return Status::InvalidArgument(fmt::format("{}: [training] {}: unknown setting or not a number", path, key));
          }
        }
      }
      so.store.memtable_mb = t["store"]["memtable_mb"].value_or(static_cast<int64_t>(so.store.memtable_mb));
      so.store.block_cache_mb = t["store"]["block_cache_mb"].value_or(static_cast<int64_t>(so.store.block_cache_mb));
      so.history_per_user = t["memory"]["history_per_user"].value_or(static_cast<int64_t>(so.history_per_user));
      so.edges_per_item = t["memory"]["edges_per_item"].value_or(static_cast<int64_t>(so.edges_per_item));
      if (auto* vars = t["variants"].as_array())
        for (auto& v : *vars) {
          auto* vt = v.as_table();
          if (!vt) return Status::InvalidArgument(path + ": [[variants]] entries must be tables");
          Variant var;
          var.name = (*vt)["name"].value_or(std::string());
          if (var.name.empty()) return Status::InvalidArgument(path + ": a [[variants]] entry has no name");
          var.share = (*vt)["share"].value_or(1.0);
          var.diversity = static_cast<float>((*vt)["diversity"].value_or(-1.0));
          for (int i = 0; i < kNumSources; ++i)
            var.scale[i] = static_cast<float>((*vt)[SourceName(i)].value_or(1.0));
          for (auto& [k, _] : *vt) {
            std::string key(k.str());
            bool known = key == "name" || key == "share" || key == "diversity";
            for (int i = 0; i < kNumSources; ++i) known |= key == SourceName(i);
            if (!known)
              return Status::InvalidArgument(fmt::format("{}: variant '{}': unknown setting '{}'", path, var.name, key));
          }
          so.variants.push_back(var);
        }
      if (auto* keys = t["keys"].as_array())
        for (auto& k : *keys) {
          auto* kt = k.as_table();
          if (!kt) return Status::InvalidArgument(path + ": [[keys]] entries must be tables");
          auto key = (*kt)["key"].value<std::string>();
          auto scope = ParseScope((*kt)["scope"].value_or(std::string("read")));
          if (!key || key->empty()) return Status::InvalidArgument(path + ": a [[keys]] entry has no key");
          if (!scope.ok()) return Status::InvalidArgument(path + ": " + scope.status().message());
          ho.keys.push_back({*key, *scope});
        }
    } catch (const toml::parse_error& e) {
      return Status::InvalidArgument(fmt::format("{}: {} (line {})", path, e.description(), e.source().begin.line));
    }
  }
  auto env = [](const char* n) -> const char* { return std::getenv(n); };
  if (const char* v = env("VANE_HOST"); v && !cmd->count("--host")) ho.host = v;
  if (const char* v = env("VANE_PORT"); v && !cmd->count("--port")) ho.port = std::atoi(v);
  if (const char* v = env("VANE_STORE"); v && !cmd->count("--store")) so.store_dir = v;
  if (const char* v = env("VANE_MODEL"); v && !cmd->count("--model")) model = v;
  if (const char* v = env("VANE_API_KEYS"))
    for (const auto& spec : SplitList(v)) VANE_RETURN_IF_ERROR(AddKey(spec, ho));
  return Status::Ok();
}

// Background training for `vane serve` on a snapshot of the live data.
ModelTrainer MakeTrainer(const TrainerSpec& spec, size_t cache_users, size_t cache_vectors) {
  return [spec, cache_users, cache_vectors](const Dataset& snap, const std::string& dir) -> Result<TrainedModel> {
    SideOptions sso;
    sso.text_vocab = 2000;
    sso.keywords = 64;
    sso.quiet = true;
    auto side = BuildSideInfo(snap, sso);
    if (!side.ok()) return side.status();
    SeqModelConfig mc;
    mc.dim = spec.dim;
    mc.layers = spec.layers;
    mc.epochs = spec.epochs;
    mc.patience = spec.patience;
    mc.max_len = spec.max_len;
    mc.batch = spec.batch;
    mc.lr = static_cast<float>(spec.lr);
    mc.negatives = spec.negatives;
    mc.warmup_steps = 10;
    mc.eval_users = 500;
    mc.threads = spec.threads;  // 1 by default: the other core keeps serving
    const bool text = side->text.vocab_size > 0;
    std::vector<EpochLog> log;
    auto t0 = std::chrono::steady_clock::now();
    auto m = SeqModel::Train(MakeSeqSplit(snap, text), snap.num_items(), mc, &log, false, text ? &side->text : nullptr,
                             &side->cats, side->keywords.names.empty() ? nullptr : &side->keywords);
    if (!m.ok()) return m.status();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    VANE_RETURN_IF_ERROR(m->Save(dir));
    std::shared_ptr<const text::SubwordTokenizer> tok;
    if (side->tokenizer) {
      VANE_RETURN_IF_ERROR(side->tokenizer->Save(dir + "/subword.model"));
      tok = std::make_shared<const text::SubwordTokenizer>(std::move(*side->tokenizer));
    }
    TrainedModel tm;
    tm.factory = ModelSourceFactory(std::make_shared<const SeqModel>(std::move(m.value())), tok, cache_users, cache_vectors);
    double best = 0, best_hr = 0;
    for (const auto& e : log)
      if (e.val_ndcg10 > best) {
        best = e.val_ndcg10;
        best_hr = e.val_hr10;
      }
    tm.info = {{"epochs", log.size()}, {"val_ndcg@10", best}, {"val_hr@10", best_hr}, {"train_seconds", secs},
               {"events", snap.events.size()}, {"users", snap.num_users()}, {"items", snap.num_items()}};
    nlohmann::json curve = nlohmann::json::array();  // per epoch, for the dashboard's training curves
    for (const auto& e : log)
      curve.push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"val_ndcg@10", e.val_ndcg10}, {"val_hr@10", e.val_hr10}});
    tm.info["curve"] = std::move(curve);
    return tm;
  };
}

int RunServe(const DataFlags& sd, const std::string& config, std::string model, const std::vector<std::string>& keys,
             ServiceOptions so, HttpOptions ho, CLI::App* cmd, TrainerSpec spec) {
  // glibc gives threads up to 8 malloc arenas per core and keeps what each frees: with 64 workers allocating,
  // resident memory crept up by ~280 MB over a 10-minute soak while vane's own state was constant; with one arena
  // per core it stayed flat (BENCHMARKS.md §5). MALLOC_ARENA_MAX in the environment still decides when set.
  if (!std::getenv("MALLOC_ARENA_MAX"))
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  if (Status c = ApplyConfig(config, cmd, so, ho, model, spec); !c.ok()) return Fail(c);
  if (!cmd->count("--models-dir")) {
    auto parent = std::filesystem::path(so.store_dir).parent_path();
    so.models_dir = (parent.empty() ? std::filesystem::path("models") : parent / "models").string();
  }
  so.trainer = MakeTrainer(spec, so.model_cache_users, so.model_cache_vectors);
  std::string model_version = model;
  if (model.empty()) {
    // The version a background training swapped in last time.
    if (auto v = ModelRegistry::ReadCurrent(so.models_dir)) {
      model = so.models_dir + "/" + *v;
      model_version = *v;
    }
  }
  for (const auto& k : keys)
    if (Status s = AddKey(k, ho); !s.ok()) return Fail(s);
  Dataset seed;
  if (Status s = Load(sd, seed); !s.ok()) return Fail(s);
  if (!model.empty()) {
    if (Status ms = UseModel(model, seed, so.engine, so.model_cache_users, false, so.model_cache_vectors); !ms.ok()) return Fail(ms);
    so.model_version = model_version;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto svc = Service::Open(so, &seed);
  if (!svc.ok()) return Fail(svc.status());
  auto st = (*svc)->GetStats();
  std::cerr << fmt::format("store {}: recovered {} events, {} users, {} items in {:.2f} s (replay {:.2f} s)\n",
                           so.store_dir, st.events, st.users, st.items,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                           st.recovery_seconds);
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  Status r = RunHttpServer(**svc, ho, g_stop, [&](int port) {
    std::cout << fmt::format("vane serve listening on http://{}:{}/ (dashboard: open it in a browser; API: curl http://{}:{}/v1/recommend/u0)",
                             ho.host, port, ho.host, port)
              << std::endl;
  });
  if (!r.ok()) return Fail(r);
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"vane: real-time interest capture and recommendation"};
  app.require_subcommand(1);

  // generate
  auto* gen_cmd = app.add_subcommand("generate", "write bilingual demo data with known intents (items, events, truth)");
  std::string gen_out = "data/generated";
  gen::GenOptions go;
  gen_cmd->add_option("--out", gen_out, "output folder")->capture_default_str();
  gen_cmd->add_option("--seed", go.seed, "random seed")->capture_default_str();
  gen_cmd->add_option("--users", go.users, "number of users")->capture_default_str();
  gen_cmd->add_option("--items-per-topic", go.items_per_topic, "items per topic")->capture_default_str();
  gen_cmd->add_option("--noise", go.noise, "share of off-intent events")->capture_default_str();
  gen_cmd->add_option("--zh-share", go.zh_share, "share of users searching in Chinese")->capture_default_str();

  // import
  auto* imp_cmd = app.add_subcommand("import", "read, validate and clean a data file; print the report");
  DataFlags imp;
  AddDataFlags(imp_cmd, imp);
  std::string imp_out, imp_report;
  imp_cmd->add_option("--out", imp_out, "write the cleaned data in vane's format to this folder");
  imp_cmd->add_option("--report-json", imp_report, "write the import report as JSON");

  // eval
  auto* eval_cmd = app.add_subcommand("eval", "offline full-ranking evaluation of every source and the blend");
  DataFlags ev;
  AddDataFlags(eval_cmd, ev);
  EvalOptions eo;
  std::string eval_json;
  size_t stream_every = 0;
  bool no_fit = false;
  eval_cmd->add_option("--protocol", eo.protocol, "loo or temporal")->check(CLI::IsMember({"loo", "temporal"}))->capture_default_str();
  eval_cmd->add_option("--max-users", eo.max_users, "evaluate a seeded sample of users (0 = all)");
  eval_cmd->add_option("--fit-users", eo.fit_users, "validation users used to fit the blend")->capture_default_str();
  eval_cmd->add_flag("--no-fit", no_fit, "keep the configured blend weights");
  eval_cmd->add_option("--json", eval_json, "write the report as JSON to this file");
  std::string eval_svg;
  eval_cmd->add_option("--plot", eval_svg, "write a bar chart of the test metrics (SVG) to this file");
  eval_cmd->add_option("--stream-every", stream_every, "also run the streaming replay, predicting every N-th event");
  EngineConfig eval_cfg;
  std::string eval_model;
  eval_cmd->add_option("--model", eval_model, "a `vane train` model directory: adds the model to the sources");
  double eval_cold = 0;
  eval_cmd->add_option("--cold-items", eval_cold,
                       "cold-start protocol: this share of the test-target items loses every other event; only "
                       "users whose test target is such an item are tested (same share in `vane train`)");
  eval_cmd->add_option("--covisit-window", eval_cfg.covisit.window, "co-visitation window (events)")->capture_default_str();
  eval_cmd->add_option("--covisit-recent", eval_cfg.covisit.recent_items, "recent items queried")->capture_default_str();
  eval_cmd->add_option("--covisit-decay", eval_cfg.covisit.recency_decay, "weight decay per older recent item")->capture_default_str();
  eval_cmd->add_option("--covisit-reverse", eval_cfg.covisit.reverse_weight, "weight of reverse edges")->capture_default_str();
  eval_cmd->add_option("--knn-history", eval_cfg.item_knn.history_items, "history items for item_knn")->capture_default_str();
  eval_cmd->add_option("--knn-decay", eval_cfg.item_knn.history_decay, "item_knn decay per older item")->capture_default_str();

  // recommend
  auto* rec_cmd = app.add_subcommand("recommend", "recommendations for a user from the live state");
  DataFlags rd;
  AddDataFlags(rec_cmd, rd);
  RecommendRequest rq;
  std::string exclude, cats, slates;
  bool rec_json = false, zh = false;
  rec_cmd->add_option("--user", rq.user, "user id")->required();
  rec_cmd->add_option("-n", rq.n, "number of items")->capture_default_str();
  rec_cmd->add_option("--type", rq.item_type, "only items of this type");
  rec_cmd->add_option("--category", cats, "only items in these categories (comma separated)");
  rec_cmd->add_option("--exclude", exclude, "item ids to leave out (comma separated)");
  rec_cmd->add_option("--slates", slates, "per-type slates, e.g. page,product,video");
  rec_cmd->add_flag("--include-consumed", rq.include_consumed, "keep items the user already consumed");
  rec_cmd->add_flag("--explain,!--no-explain", rq.explain, "explain each item (default on)");
  rec_cmd->add_flag("--json", rec_json, "print JSON");
  rec_cmd->add_flag("--zh", zh, "explanations in Chinese");
  std::string rec_model;
  rec_cmd->add_option("--model", rec_model, "a `vane train` model directory: adds the model to the sources");

  // interests
  auto* int_cmd = app.add_subcommand("interests", "a user's interest graph and what they are into, in words");
  DataFlags id;
  AddDataFlags(int_cmd, id);
  std::string int_user;
  bool int_json = false;
  int_cmd->add_option("--user", int_user, "user id")->required();
  int_cmd->add_flag("--json", int_json, "print JSON");
  std::string int_svg, int_model;
  int_cmd->add_option("--model", int_model, "a `vane train` model: add what the model says the user wants now");
  int_cmd->add_option("--plot", int_svg, "draw the interest graph (SVG) to this file");

  // capture
  auto* cap_cmd = app.add_subcommand("capture", "interest-capture benchmark on generated data (lag, accuracy)");
  gen::GenOptions cgo;
  std::string cap_json;
  cap_cmd->add_option("--seed", cgo.seed)->capture_default_str();
  cap_cmd->add_option("--users", cgo.users)->capture_default_str();
  cap_cmd->add_option("--noise", cgo.noise)->capture_default_str();
  cap_cmd->add_option("--json", cap_json, "write the report as JSON to this file");
  EngineConfig cap_cfg;
  std::vector<float> cap_weights;
  cap_cmd->add_option("--short-half-life", cap_cfg.interest.short_half_life_s, "seconds")->capture_default_str();
  cap_cmd->add_option("--covisit-decay", cap_cfg.covisit.recency_decay)->capture_default_str();
  cap_cmd->add_option("--search-share", cap_cfg.interest.search_category_share)->capture_default_str();
  cap_cmd->add_option("--keyword-share", cap_cfg.interest.keyword_share)->capture_default_str();
  std::string cap_model;
  cap_cmd->add_option("--model", cap_model, "a `vane train` model of the same generated data: also score its interest head");
  cap_cmd->add_option("--weights", cap_weights,
                      "base blend weights: popular,covisit,content,interest_now,interest_long,item_knn")
      ->delimiter(',')
      ->expected(kNumSources);

  // tokenizer
  auto* tok_cmd = app.add_subcommand("tokenizer", "train the subword tokenizer on item text and search queries");
  DataFlags td;
  AddDataFlags(tok_cmd, td);
  std::string tok_out = "data/subword.model";
  text::SubwordTokenizer::Options tok_opt;
  std::vector<std::string> tok_samples;
  tok_cmd->add_option("--out", tok_out, "model file to write")->capture_default_str();
  tok_cmd->add_option("--vocab-size", tok_opt.vocab_size, "upper bound on the vocabulary")->capture_default_str();
  tok_cmd->add_option("--show", tok_samples, "texts to encode and print after training");

  // train
  auto* train_cmd = app.add_subcommand("train", "train the behaviour sequence model; report full-ranking test metrics");
  DataFlags trd;
  AddDataFlags(train_cmd, trd);
  SeqModelConfig mc;
  std::string out = "data/model", json_out;
  train_cmd->add_option("--out", out, "model directory")->capture_default_str();
  train_cmd->add_option("--json", json_out, "write the training curve and test metrics as JSON");
  train_cmd->add_option("--epochs", mc.epochs)->capture_default_str();
  train_cmd->add_option("--dim", mc.dim)->capture_default_str();
  train_cmd->add_option("--layers", mc.layers)->capture_default_str();
  train_cmd->add_option("--heads", mc.heads)->capture_default_str();
  train_cmd->add_option("--max-len", mc.max_len)->capture_default_str();
  train_cmd->add_option("--dropout", mc.dropout)->capture_default_str();
  train_cmd->add_option("--batch", mc.batch)->capture_default_str();
  train_cmd->add_option("--lr", mc.lr)->capture_default_str();
  train_cmd->add_option("--patience", mc.patience)->capture_default_str();
  train_cmd->add_option("--eval-users", mc.eval_users, "validation users per epoch (0 = all)")->capture_default_str();
  train_cmd->add_option("--threads", mc.threads)->capture_default_str();
  train_cmd->add_option("--model-seed", mc.seed)->capture_default_str();
  train_cmd->add_flag("--profile", mc.profile, "print where each epoch's time goes");
  train_cmd->add_option("--checkpoint", mc.checkpoint_dir, "write a checkpoint here after every epoch");
  train_cmd->add_flag("--resume", mc.resume, "continue from --checkpoint when it holds one");
  bool no_text = false, no_searches = false;
  SideOptions tso;
  train_cmd->add_flag("--no-text", no_text, "ignore item and query text (ids only)");
  train_cmd->add_flag("--no-searches", no_searches, "leave search events out of the sequences");
  double train_cold = 0;
  train_cmd->add_option("--cold-items", train_cold,
                        "cold-start protocol (as `vane eval --cold-items`): train without any event on this share of "
                        "the test-target items; the test is also reported on users whose target is one of them");
  train_cmd->add_option("--text-vocab", tso.text_vocab, "subword vocabulary bound for item text")->capture_default_str();
  train_cmd->add_option("--keyword-head", tso.keywords, "keywords the keyword head predicts (0: no head)")->capture_default_str();
  train_cmd->add_option("--word-vectors", tso.word_vectors,
                        "initialise subword embeddings from word vectors (GloVe / word2vec / fastText .vec text format)");
  train_cmd->add_option("--negatives", mc.negatives, "0: full softmax; K: sampled softmax with K negatives")->capture_default_str();
  train_cmd->add_option("--id-dropout", mc.id_dropout,
                        "share of items per batch seen through their text alone (helps items without interactions)")
      ->capture_default_str();
  train_cmd->add_option("--interest-weight", mc.interest_weight, "weight of the interest head in the loss")->capture_default_str();
  train_cmd->add_option("--keyword-weight", mc.keyword_weight, "weight of the keyword head in the loss")->capture_default_str();

  // serve
  auto* serve_cmd = app.add_subcommand("serve", "the HTTP service: events in, recommendations out, durable (RocksDB)");
  DataFlags sd;
  AddDataFlags(serve_cmd, sd);
  std::string serve_config, serve_model;
  ServiceOptions so;
  HttpOptions ho;
  std::vector<std::string> serve_keys;
  TrainerSpec serve_train;
  serve_cmd->add_option("--config", serve_config, "TOML configuration file (docs/http_api.md); flags and VANE_* environment variables override it");
  serve_cmd->add_option("--host", ho.host, "address to listen on")->capture_default_str();
  serve_cmd->add_option("--port", ho.port, "port (0 = any free port)")->capture_default_str();
  serve_cmd->add_option("--store", so.store_dir, "store directory (created when absent; filled from the seed data on first start)")->capture_default_str();
  serve_cmd->add_option("--model", serve_model, "a `vane train` model directory: the model joins the blend");
  serve_cmd->add_option("--api-key", serve_keys, "KEY:SCOPE (scope read, write or admin); repeatable");
  serve_cmd->add_option("--threads", ho.threads, "HTTP worker threads")->capture_default_str();
  serve_cmd->add_option("--retrain-every", so.retrain_every_s,
                        "retrain the model in the background every this many seconds (0 = only on demand)")
      ->capture_default_str();
  serve_cmd->add_option("--train-epochs", serve_train.epochs, "epochs of a background training")->capture_default_str();
  serve_cmd->add_option("--models-dir", so.models_dir, "where trained versions go (default: models/ beside the store)");
  serve_cmd->add_option("--model-cache-users", so.model_cache_users,
                        "active users whose model state stays cached (about 200 KiB each at width 64, length 200)")
      ->capture_default_str();
  serve_cmd->add_option("--model-cache-vectors", so.model_cache_vectors,
                        "users beyond those whose model vector alone stays cached (256 B each at width 64)")
      ->capture_default_str();

  // demo
  auto* demo_cmd = app.add_subcommand("demo", "the worked example on the built-in data: interests and recommendations");
  DataFlags dd;
  AddDataFlags(demo_cmd, dd);
  int demo_epochs = 8;
  demo_cmd->add_option("--model-epochs", demo_epochs, "train a small behaviour model first (0 = none)")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help or the parse error
    return rc == 0 ? 0 : kExitUsage;
  }

  if (*gen_cmd) {
    gen::Generated g = gen::Generate(go);
    Status s = gen::WriteGenerated(g, gen_out);
    if (!s.ok()) return Fail(s);
    std::cout << fmt::format("wrote {} items, {} events, {} truth rows to {}\n", g.items.size(), g.events.size(),
                             g.truth.size(), gen_out);
    return 0;
  }
  if (*imp_cmd) {
    Dataset ds;
    ImportReport report;
    Status s;
    if (imp.format == "generated") {
      s = Load(imp, ds);
    } else {
      auto fmt = ParseFormat(imp.format);
      if (!fmt.ok()) return Fail(fmt.status());
      if (imp.input.empty()) return Fail(Status::InvalidArgument("--input is required"));
      LoadOptions lo;
      lo.import.on_error = imp.on_error == "fail" ? OnError::kFail : OnError::kSkip;
      lo.import.progress = !imp.quiet;
      lo.max_events = imp.max_events;
      s = LoadDataset(*fmt, imp.input, lo, ds, report);
      report.Print(std::cout, 20);
      if (!imp_report.empty()) std::ofstream(imp_report) << report.ToJson() << "\n";
    }
    if (!s.ok()) return Fail(s);
    std::cout << fmt::format("dataset {}: {} users, {} items, {} events, {} queries, {} categories, timestamps: {}\n",
                             ds.name, ds.num_users(), ds.num_items(), ds.events.size(), ds.queries.size(),
                             ds.catalog.category_vocab().size(), ds.has_timestamps ? "yes" : "order only");
    if (!imp_out.empty()) {
      Status w = WriteDataset(ds, imp_out);
      if (!w.ok()) return Fail(w);
      std::cout << "wrote cleaned data to " << imp_out << "\n";
    }
    return 0;
  }
  if (*eval_cmd) {
    Dataset ds;
    Status s = Load(ev, ds);
    if (!s.ok()) return Fail(s);
    if (eval_cold > 0) {
      eo.test_items = MakeColdItems(ds, eval_cold, 42);
      std::cerr << fmt::format("cold-start protocol: {} cold items\n",
                               std::count(eo.test_items.begin(), eo.test_items.end(), 1));
    }
    eo.fit_weights = !no_fit;
    eo.progress = !ev.quiet;
    EngineConfig cfg = eval_cfg;
    if (Status ms = UseModel(eval_model, ds, cfg); !ms.ok()) return Fail(ms);
    auto rep = Evaluate(ds, cfg, eo);
    if (!rep.ok()) return Fail(rep.status());
    rep->Print(std::cout);
    nlohmann::json j = nlohmann::json::parse(rep->ToJson());
    if (stream_every > 0) {
      cfg.base = rep->weights;
      cfg.strategy_multipliers = rep->multipliers;
      StreamingReport sr = EvaluateStreaming(ds, cfg, stream_every, !ev.quiet);
      std::cout << fmt::format("streaming replay: {} predictions over {} events | hr@10 {:.4f} ndcg@10 {:.4f} mrr {:.4f} | "
                               "ingest {:.2f} s, predict {:.2f} s\n",
                               sr.predictions, sr.events, sr.metrics.hr10, sr.metrics.ndcg10, sr.metrics.mrr,
                               sr.ingest_seconds, sr.predict_seconds);
      j["streaming"] = nlohmann::json::parse(sr.ToJson());
    }
    if (!eval_svg.empty()) {
      Status ps = WriteMetricsSvg(*rep, eval_svg);
      if (!ps.ok()) return Fail(ps);
      std::cout << "wrote " << eval_svg << "\n";
    }
    if (!eval_json.empty()) {
      std::ofstream out(eval_json);
      if (!out) return Fail(Status::IoError("cannot write " + eval_json));
      out << j.dump(2) << "\n";
    }
    return 0;
  }
  if (*rec_cmd || *int_cmd) {
    DataFlags& f = *rec_cmd ? rd : id;
    Dataset ds;
    Status s = Load(f, ds);
    if (!s.ok()) return Fail(s);
    EngineConfig ecfg;
    if (*rec_cmd)
      if (Status ms = UseModel(rec_model, ds, ecfg); !ms.ok()) return Fail(ms);
    Engine engine(ds, ecfg);
    IngestAll(ds, engine, f.quiet);
    Timestamp now = DataNow(ds);
    if (*rec_cmd) {
      if (!ds.users.Find(rq.user)) std::cerr << "note: user '" << rq.user << "' has no events: new-user strategy\n";
      rq.now = now;
      rq.exclude_ids = SplitList(exclude);
      rq.categories = SplitList(cats);
      rq.slate_types = SplitList(slates);
      RecommendResponse r = engine.Recommend(rq);
      if (rec_json) std::cout << RecsJson(r).dump(2) << "\n";
      else PrintRecs(r, zh);
      return 0;
    }
    auto u = ds.users.Find(int_user);
    if (!u) return Fail(Status::NotFound("user '" + int_user + "' has no events in this data"));
    InterestSummary sum = Describe(engine.interests(), UserIdx(*u), now);
    std::string model_en, model_zh;
    if (!int_model.empty()) {
      auto m = SeqModel::Load(int_model);
      if (!m.ok()) return Fail(m.status());
      std::vector<uint32_t> hist;
      for (ItemIdx i : engine.interests().Interacted(UserIdx(*u))) hist.push_back(i.v);
      ModelInterest mi = DescribeModelInterest(m->PredictInterest(hist), ds.catalog);
      AddModelKeywords(mi, m->PredictKeywords(SeqInput{hist, {}}), m->keyword_names());
      model_en = mi.text_en;
      model_zh = mi.text_zh;
    }
    if (!int_svg.empty()) {
      Status ps = WriteInterestGraphSvg(engine.interests(), UserIdx(*u), now, int_svg);
      if (!ps.ok()) return Fail(ps);
      std::cerr << "wrote " << int_svg << "\n";
    }
    if (int_json) {
      nlohmann::json j = InterestsJson(sum);
      if (!model_en.empty()) {
        j["model_text"] = model_en;
        j["model_text_zh"] = model_zh;
      }
      j["graph"]["categories"] = nlohmann::json::array();
      for (auto& c : engine.interests().Categories(UserIdx(*u), now))
        j["graph"]["categories"].push_back({{"name", ds.catalog.category_vocab().Name(c.id)}, {"short", c.s}, {"long", c.l}});
      for (auto& k : engine.interests().Keywords(UserIdx(*u), now))
        j["graph"]["keywords"].push_back({{"name", ds.catalog.keyword_vocab().Name(k.id)}, {"short", k.s}, {"long", k.l}});
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << sum.text_en << "\n" << sum.text_zh << "\n";
      if (!model_en.empty()) std::cout << model_en << "\n" << model_zh << "\n";
      std::cout << "\ninterest graph (short-term / long-term weight):\n";
      for (auto& c : engine.interests().Categories(UserIdx(*u), now))
        std::cout << fmt::format("  category {:<24} {:8.3f} {:8.3f}\n", ds.catalog.category_vocab().Name(c.id), c.s, c.l);
      for (auto& k : engine.interests().Keywords(UserIdx(*u), now))
        std::cout << fmt::format("  keyword  {:<24} {:8.3f} {:8.3f}\n", ds.catalog.keyword_vocab().Name(k.id), k.s, k.l);
    }
    return 0;
  }
  if (*cap_cmd) {
    gen::Generated g = gen::Generate(cgo);
    Dataset ds;
    ImportReport report;
    Status s = BuildGeneratedDataset(g, ds, report);
    if (!s.ok()) return Fail(s);
    CaptureOptions co;
    co.progress = true;
    std::shared_ptr<SeqModel> cm;
    std::optional<SeqInference> cinf;
    std::unordered_map<uint32_t, SeqInference::State> cstates;
    std::unordered_map<uint32_t, Timestamp> clast;
    std::shared_ptr<const text::SubwordTokenizer> ctok;
    std::vector<float> dist;
    if (!cap_model.empty()) {
      auto m = SeqModel::Load(cap_model);
      if (!m.ok()) return Fail(m.status());
      if (m->num_items() != ds.num_items() || m->num_categories() == 0)
        return Fail(Status::InvalidArgument(cap_model + ": not trained on this generated data with categories"));
      cinf = SeqInference::FromModel(*m);
      // The tokenizer saved with the model embeds the searches (this data's query ids need not be the training's).
      auto tok = LoadModelTokenizer(cap_model);
      if (!tok.ok()) return Fail(tok.status());
      ctok = tok.value();
      const bool side = !cinf->weights().act.empty();
      // Each positive item event and each search goes into the user's incremental state with its action and the
      // time since the user's previous event; the top of the interest head is the model's answer to "what does
      // this user want now".
      co.model_interest = [&, side](const Event& e) -> std::optional<uint32_t> {
        auto& st = cstates[e.user.v];
        auto [lt, first] = clast.try_emplace(e.user.v, e.ts);
        uint8_t sd = side ? PackSide(ActionSlot(e.action), first ? 0 : GapBucket(static_cast<int64_t>(e.ts) - lt->second)) : 0;
        lt->second = e.ts;
        if (e.item.valid() && ds.actions.EffectiveWeight(e.action, e.value, e.has_value) > 0) {
          cinf->Append(st, e.item.v, sd);
        } else if (!e.item.valid() && e.query != kNoQuery && ctok) {
          cinf->AppendQuery(st, ctok->Encode(ds.queries.Name(e.query)), sd);
        }
        if (st.h.empty()) return std::nullopt;
        cinf->Interest(st, dist);
        return static_cast<uint32_t>(std::max_element(dist.begin(), dist.end()) - dist.begin());
      };
      // At a switch, before its event: the model's most likely next interest other than the current one.
      co.model_next_interest = [&](UserIdx user, uint32_t current) -> std::optional<uint32_t> {
        auto it = cstates.find(user.v);
        if (it == cstates.end() || it->second.h.empty()) return std::nullopt;
        cinf->Interest(it->second, dist);
        if (current < dist.size()) dist[current] = -1.0f;
        return static_cast<uint32_t>(std::max_element(dist.begin(), dist.end()) - dist.begin());
      };
    }
    for (size_t i = 0; i < cap_weights.size() && i < kNumSources; ++i) cap_cfg.base[i] = cap_weights[i];
    CaptureReport rep = MeasureCapture(g, ds, cap_cfg, co);
    std::cout << rep.ToText() << "\n";
    if (!cap_json.empty()) std::ofstream(cap_json) << rep.ToJson() << "\n";
    return 0;
  }
  if (*tok_cmd) {
    Dataset ds;
    Status s = Load(td, ds);
    if (!s.ok()) return Fail(s);
    std::vector<std::string> texts;
    for (uint32_t i = 0; i < ds.catalog.size(); ++i) {
      const Item& it = ds.catalog.item(ItemIdx(i));
      std::string t = it.title;
      for (const auto& c : it.categories) t += " " + c;
      if (!it.text.empty()) t += " " + it.text;
      texts.push_back(std::move(t));
    }
    for (uint32_t q = 0; q < ds.queries.size(); ++q) texts.push_back(ds.queries.Name(q));
    auto tok = text::SubwordTokenizer::Train(texts, tok_opt);
    if (!tok.ok()) return Fail(tok.status());
    Status w = tok->Save(tok_out);
    if (!w.ok()) return Fail(w);
    std::cout << fmt::format("trained on {} texts: {} pieces, written to {}\n", texts.size(), tok->vocab_size(), tok_out);
    if (tok_samples.empty()) tok_samples = {"trail running shoes", "越野跑鞋 推荐"};
    for (const auto& t : tok_samples) {
      std::cout << "  " << t << " ->";
      for (const auto& p : tok->EncodePieces(t)) std::cout << " [" << p << "]";
      std::cout << "\n";
    }
    return 0;
  }
  if (*train_cmd) {
    Dataset ds;
    Status ls = Load(trd, ds);
    if (!ls.ok()) return Fail(ls);
    std::vector<uint8_t> cold;
    if (train_cold > 0) cold = MakeColdItems(ds, train_cold, 42);
    tso.text = !no_text;
    tso.quiet = trd.quiet;
    auto side = BuildSideInfo(ds, tso);
    if (!side.ok()) return Fail(side.status());
    ItemText& item_text = side->text;
    ItemCategories& cats = side->cats;
    std::optional<text::SubwordTokenizer>& tokenizer = side->tokenizer;
    SeqSplit split = MakeSeqSplit(ds, !no_searches && item_text.vocab_size > 0);
    std::vector<EpochLog> curve;
    auto t0 = std::chrono::steady_clock::now();
    auto model = SeqModel::Train(split, ds.num_items(), mc, &curve, !trd.quiet,
                                 item_text.vocab_size > 0 ? &item_text : nullptr,
                                 cats.num_categories > 0 ? &cats : nullptr,
                                 side->keywords.names.empty() ? nullptr : &side->keywords);
    if (!model.ok()) return Fail(model.status());
    double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (Status w = model->Save(out); !w.ok()) return Fail(w);
    if (tokenizer)
      if (Status w = tokenizer->Save(out + "/subword.model"); !w.ok()) return Fail(w);

    // Test: full ranking; history = training items + the validation item; the user's earlier items are excluded.
    std::vector<uint32_t> counts(ds.num_items(), 0);
    for (const auto& q : split.train)
      for (uint32_t i : q)
        if (i < counts.size()) ++counts[i];  // searches are not items
    MetricAccumulator acc(ds.catalog, counts), acc_cold(ds.catalog, counts);
    std::vector<uint8_t> mask(ds.num_items(), 0);
    std::vector<uint32_t> all(ds.num_items());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    std::vector<float> scores;
    auto t1 = std::chrono::steady_clock::now();
    for (size_t u = 0; u < split.train.size(); ++u) {
      if (split.test_target[u] == UINT32_MAX) continue;
      std::vector<uint32_t> hist = split.train[u];
      hist.push_back(split.val_target[u]);
      std::vector<uint8_t> hside;
      if (!split.side[u].empty()) {
        hside = split.side[u];
        hside.push_back(split.val_side[u]);
      }
      model->Score(SeqInput{hist, hside}, scores);
      size_t excluded = 0;
      for (uint32_t i : hist)
        if (i < mask.size() && !mask[i] && i != split.test_target[u]) { mask[i] = 1; ++excluded; }
      // RankTarget reads a score of 0 as "unscored": shift the dense model scores above 0.
      float mn = *std::min_element(scores.begin(), scores.end());
      RankResult r = RankTarget(ItemIdx(split.test_target[u]), all, [&](uint32_t i) { return scores[i] - mn + 1.0f; },
                                mask, excluded, ds.num_items(), 10);
      acc.Add(r.rank, r.top);
      if (!cold.empty() && cold[split.test_target[u]]) acc_cold.Add(r.rank, r.top);
      for (uint32_t i : hist)
        if (i < mask.size()) mask[i] = 0;
    }
    RankingMetrics m = acc.Result();
    if (!cold.empty()) {
      RankingMetrics mc = acc_cold.Result();
      std::cout << fmt::format("cold-start test ({} users whose target had no training event): hr@10 {:.4f} ndcg@10 "
                               "{:.4f} hr@20 {:.4f} ndcg@20 {:.4f} mrr {:.4f}\n",
                               mc.users, mc.hr10, mc.ndcg10, mc.hr20, mc.ndcg20, mc.mrr);
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::cout << fmt::format("model {} | {} epochs in {} | test users {} | hr@10 {:.4f} ndcg@10 {:.4f} hr@20 {:.4f} "
                             "ndcg@20 {:.4f} mrr {:.4f} | test scoring {:.1f} s\n",
                             out, curve.size(), FormatDuration(train_s), m.users, m.hr10, m.ndcg10, m.hr20, m.ndcg20,
                             m.mrr, m.seconds);
    if (!json_out.empty()) {
      nlohmann::json j;
      j["dataset"] = ds.name;
      j["train_seconds"] = train_s;
      j["test"] = {{"users", m.users}, {"hr@10", m.hr10}, {"ndcg@10", m.ndcg10}, {"hr@20", m.hr20},
                   {"ndcg@20", m.ndcg20}, {"mrr", m.mrr}};
      for (const auto& e : curve)
        j["curve"].push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"val_ndcg@10", e.val_ndcg10}, {"val_hr@10", e.val_hr10},
                              {"seconds", e.seconds}, {"tokens_per_s", e.tokens_per_s}, {"lr", e.lr}});
      std::ofstream(json_out) << j.dump(2) << "\n";
    }
    return 0;
  }
  if (*serve_cmd) return RunServe(sd, serve_config, serve_model, serve_keys, so, ho, serve_cmd, serve_train);
  if (*demo_cmd) {
    Dataset ds;
    Status s = Load(dd, ds);
    if (!s.ok()) return Fail(s);
    EngineConfig dcfg;
    std::shared_ptr<const SeqModel> dmodel;
    if (demo_epochs > 0) {
      // A small behaviour model, trained here in seconds, joins the blend.
      SideOptions dso;
      dso.text_vocab = 2000;
      dso.keywords = 64;
      dso.quiet = true;
      auto side = BuildSideInfo(ds, dso);
      if (!side.ok()) return Fail(side.status());
      SeqModelConfig smc;
      smc.dim = 32;
      smc.epochs = demo_epochs;
      smc.max_len = 50;
      smc.batch = 32;
      smc.lr = 5e-3f;
      smc.warmup_steps = 10;
      auto t0 = std::chrono::steady_clock::now();
      auto m = SeqModel::Train(MakeSeqSplit(ds, side->text.vocab_size > 0), ds.num_items(), smc, nullptr, false,
                               side->text.vocab_size > 0 ? &side->text : nullptr, &side->cats,
                               side->keywords.names.empty() ? nullptr : &side->keywords);
      if (!m.ok()) return Fail(m.status());
      dmodel = std::make_shared<const SeqModel>(std::move(m.value()));
      std::cout << fmt::format("trained a behaviour model ({} epochs, width 32, item and query text, interest and keyword heads) in {}\n",
                               demo_epochs,
                               FormatDuration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
      dcfg.model_source = [dmodel](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
        return std::make_unique<ModelSource>(d, st, dmodel);
      };
    }
    Engine engine(ds, dcfg);
    IngestAll(ds, engine, false);
    std::cout << fmt::format("vane demo on '{}' data: {} users, {} items ({} types), {} events\n\n", ds.name,
                             ds.num_users(), ds.num_items(), ds.catalog.type_vocab().size(), ds.events.size());
    Timestamp start = DataNow(ds) + 3600;
    auto res = RunSeedExample(ds, engine, "A", start);
    if (!res.ok()) return Fail(res.status());
    std::cout << "The worked example - user A:\n";
    for (const auto& st : res->steps) std::cout << "  - " << st.description << "\n";
    std::cout << "\nWhat A is into (from the interest graph):\n  " << res->interests.text_en << "\n  "
              << res->interests.text_zh << "\n";
    if (dmodel) {
      std::vector<uint32_t> hist;
      for (ItemIdx i : engine.interests().Interacted(UserIdx(*ds.users.Find("A")))) hist.push_back(i.v);
      ModelInterest mi = DescribeModelInterest(dmodel->PredictInterest(hist), ds.catalog);
      AddModelKeywords(mi, dmodel->PredictKeywords(SeqInput{hist, {}}), dmodel->keyword_names());
      std::cout << "What the behaviour model says:\n  " << mi.text_en << "\n  " << mi.text_zh << "\n";
    }
    std::cout << "\nRecommendations for A, with reasons:\n";
    PrintRecs(res->recommendations, false);
    // A generated user with a long history, for contrast.
    if (ds.users.Find("u0")) {
      UserIdx u0(*ds.users.Find("u0"));
      Timestamp now = engine.interests().Find(u0)->last_ts + 60;
      std::cout << "\nUser u0 (generated history of " << engine.interests().Find(u0)->num_events << " events):\n  "
                << Describe(engine.interests(), u0, now).text_en << "\n";
      RecommendRequest rq0;
      rq0.user = "u0";
      rq0.n = 5;
      rq0.now = now;
      PrintRecs(engine.Recommend(rq0), false);
    }
    return 0;
  }
  return kExitUsage;
}
