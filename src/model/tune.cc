#include "vane/model/tune.h"

#include <ATen/Version.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"

namespace vane {

namespace {

using json = nlohmann::json;

json ConfigJson(const SeqModelConfig& c) {
  return {{"dim", c.dim},         {"layers", c.layers},   {"heads", c.heads},         {"dropout", c.dropout},
          {"lr", c.lr},           {"max_len", c.max_len}, {"negatives", c.negatives}, {"epochs", c.epochs},
          {"patience", c.patience}, {"batch", c.batch},   {"seed", c.seed},           {"bf16", c.bf16},
          {"stop_after_epoch", c.stop_after_epoch}};
}

// The first field in which a recorded trial differs from the trial this search would run ("" when none). Lines
// written before bf16 and stop_after_epoch were recorded hold neither: read as off.
std::string DifferingField(const json& line, const SeqModelConfig& c) {
  const json want = ConfigJson(c);
  for (const auto& [key, w] : want.items()) {
    json got = line.contains(key) ? line[key] : (key == "bf16" ? json(false) : key == "stop_after_epoch" ? json(0) : json());
    bool same;
    if (w.is_number() && got.is_number()) {
      const double a = got.get<double>(), b = w.get<double>();
      same = std::fabs(a - b) <= 1e-6 * std::max(1.0, std::fabs(b));
    } else {
      same = got == w;
    }
    if (!same) return fmt::format("{} (recorded {}, now {})", key, got.dump(), w.dump());
  }
  return "";
}

// The finished trials of an earlier run of the same search; a torn last line is dropped.
Result<std::vector<TuneTrial>> ReadTrials(const std::string& path, const TuneSpace& space, const SeqModelConfig& base,
                                          uint64_t seed) {
  std::vector<TuneTrial> out;
  std::ifstream in(path);
  if (!in) return out;
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t n = 0; n < lines.size(); ++n) {
    json j = json::parse(lines[n], nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("trial") || !j.contains("val_ndcg10")) {
      if (n + 1 == lines.size()) {
        // Torn by a crash mid-write: the file keeps the whole lines (written beside it, then renamed), and that
        // trial runs again.
        std::ofstream tmp(path + ".tmp", std::ios::trunc);
        for (size_t k = 0; k < n; ++k) tmp << lines[k] << "\n";
        tmp.close();
        std::error_code ec;
        std::filesystem::rename(path + ".tmp", path, ec);
        if (!tmp || ec) return Status::IoError(path + ": cannot drop its torn last line");
        break;
      }
      return Status::InvalidArgument(fmt::format("{}: line {} is not a trial", path, n + 1));
    }
    TuneTrial t;
    t.index = j["trial"].get<int>();
    if (t.index != static_cast<int>(out.size()))
      return Status::InvalidArgument(fmt::format("{}: line {} holds trial {}, expected {}", path, n + 1, t.index, out.size()));
    t.cfg = TrialConfig(space, base, seed, t.index);
    if (std::string d = DifferingField(j, t.cfg); !d.empty())
      return Status::InvalidArgument(fmt::format(
          "{}: trial {} differs from this search in {}: another seed, space, schedule or base configuration; use "
          "another --out",
          path, t.index, d));
    t.val_ndcg10 = j.value("val_ndcg10", 0.0);
    t.val_hr10 = j.value("val_hr10", 0.0);
    t.epochs = j.value("epochs_run", 0);
    t.seconds = j.value("seconds", 0.0);
    t.resumed = true;
    out.push_back(t);
  }
  return out;
}

Status AppendTrial(const std::string& path, const TuneTrial& t) {
  json j = ConfigJson(t.cfg);
  j["trial"] = t.index;
  j["val_ndcg10"] = t.val_ndcg10;
  j["val_hr10"] = t.val_hr10;
  j["epochs_run"] = t.epochs;
  j["seconds"] = t.seconds;
  std::ofstream out(path, std::ios::app);
  out << j.dump() << "\n";
  out.flush();
  return out ? Status::Ok() : Status::IoError(path + ": cannot append the trial");
}

// The best trial's model replaces `dir`/model whole (written beside it, then renamed), with tune.json inside.
Status KeepBest(const SeqModel& model, const TuneTrial& t, size_t trials, const std::string& dir) {
  const std::string next = dir + "/model.next", final_dir = dir + "/model";
  std::filesystem::remove_all(next);
  VANE_RETURN_IF_ERROR(model.Save(next));
  json info = {{"chosen_by", "vane tune: best validation NDCG@10"}, {"trial", t.index}, {"trials_so_far", trials},
               {"val_ndcg10", t.val_ndcg10}, {"val_hr10", t.val_hr10}, {"config", ConfigJson(t.cfg)}};
  std::ofstream(next + "/tune.json") << info.dump(2) << "\n";
  std::error_code ec;
  std::filesystem::remove_all(final_dir, ec);
  std::filesystem::rename(next, final_dir, ec);
  return ec ? Status::IoError(final_dir + ": " + ec.message()) : Status::Ok();
}

// Every list holds at least one value and only values a model can take.
Status CheckSpace(const TuneSpace& s) {
  auto check = [](const char* name, const auto& v, auto ok) -> Status {
    if (v.empty()) return Status::InvalidArgument(fmt::format("tune: the space's {} list is empty", name));
    for (auto x : v)
      if (!ok(x)) return Status::InvalidArgument(fmt::format("tune: the space's {} list holds {}, out of range", name, x));
    return Status::Ok();
  };
  auto positive = [](auto x) { return x > 0; };
  VANE_RETURN_IF_ERROR(check("dim", s.dim, [](int x) { return x >= 2 && x <= 4096; }));
  VANE_RETURN_IF_ERROR(check("layers", s.layers, [](int x) { return x >= 1 && x <= 64; }));
  VANE_RETURN_IF_ERROR(check("heads", s.heads, positive));
  VANE_RETURN_IF_ERROR(check("dropout", s.dropout, [](float x) { return x >= 0 && x < 1; }));
  VANE_RETURN_IF_ERROR(check("lr", s.lr, [](float x) { return x > 0 && x < 1; }));
  VANE_RETURN_IF_ERROR(check("max_len", s.max_len, [](int x) { return x >= 2 && x <= 100000; }));
  return check("negatives", s.negatives, [](int x) { return x >= 0; });
}

std::string Describe(const SeqModelConfig& c) {
  return fmt::format("dim {} layers {} heads {} dropout {:.2f} lr {:.0e} len {} {}", c.dim, c.layers, c.heads, c.dropout,
                     c.lr, c.max_len, c.negatives > 0 ? fmt::format("sampled {}", c.negatives) : "full softmax");
}

}  // namespace

SeqModelConfig TrialConfig(const TuneSpace& space, const SeqModelConfig& base, uint64_t seed, int k) {
  if (k == 0) return base;
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(k));
  auto pick = [&](const auto& v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)]; };
  SeqModelConfig c = base;
  c.dim = pick(space.dim);
  c.layers = pick(space.layers);
  std::vector<int> heads;
  for (int h : space.heads)
    if (h > 0 && c.dim % h == 0 && (c.dim / h) % 2 == 0) heads.push_back(h);  // rotary halves need even head width
  c.heads = heads.empty() ? 1 : pick(heads);
  c.dropout = pick(space.dropout);
  c.lr = pick(space.lr);
  c.max_len = pick(space.max_len);
  c.negatives = pick(space.negatives);
  return c;
}

Result<TuneResult> Tune(const SeqSplit& split, size_t num_items, const SeqModelConfig& base, const TuneSpace& space,
                        const TuneOptions& opt, const ItemText* text, const ItemCategories* cats,
                        const ItemKeywords* keywords) {
  if (opt.dir.empty()) return Status::InvalidArgument("tune: an output directory is needed");
  VANE_RETURN_IF_ERROR(CheckSpace(space));
  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  if (ec) return Status::IoError(opt.dir + ": " + ec.message());
  const std::string trials_path = opt.dir + "/trials.jsonl";
  TuneResult res;
  SeqModelConfig b = base;
  b.epochs = opt.epochs;
  b.patience = opt.patience;
  if (opt.schedule_epochs > 0 && opt.schedule_epochs <= opt.epochs)
    return Status::InvalidArgument(fmt::format(
        "tune: a trial's schedule ({} epochs) must be longer than the epochs it runs ({}); 0 makes them equal",
        opt.schedule_epochs, opt.epochs));
  if (opt.schedule_epochs > opt.epochs) {
    b.epochs = opt.schedule_epochs;
    b.stop_after_epoch = opt.epochs;
  }
  VANE_ASSIGN_OR_RETURN(res.trials, ReadTrials(trials_path, space, b, opt.seed));
  double best = -1, total_s = 0;
  for (size_t k = 0; k < res.trials.size(); ++k) {
    total_s += res.trials[k].seconds;
    if (res.trials[k].val_ndcg10 > best) best = res.trials[k].val_ndcg10, res.best = static_cast<int>(k);
  }
  if (opt.progress && !res.trials.empty())
    std::fprintf(stderr, "tune: resumed %zu finished trials from %s (best validation NDCG@10 %.4f)\n", res.trials.size(),
                 trials_path.c_str(), best);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (int k = static_cast<int>(res.trials.size());; ++k) {
    if (opt.max_trials > 0 && k >= opt.max_trials) break;
    const double mean = res.trials.empty() ? 0 : total_s / static_cast<double>(res.trials.size());
    if (elapsed() >= opt.budget_s || (k > 0 && elapsed() + mean > opt.budget_s)) break;
    TuneTrial t;
    t.index = k;
    t.cfg = TrialConfig(space, b, opt.seed, k);
    std::vector<EpochLog> log;
    const auto ts = std::chrono::steady_clock::now();
    if (opt.progress) std::fprintf(stderr, "trial %3d | %s\n", k, Describe(t.cfg).c_str());
    VANE_ASSIGN_OR_RETURN(SeqModel m, SeqModel::Train(split, num_items, t.cfg, &log, opt.progress, text, cats, keywords));
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    t.epochs = static_cast<int>(log.size());
    for (const auto& e : log)
      if (e.val_ndcg10 > t.val_ndcg10) t.val_ndcg10 = e.val_ndcg10, t.val_hr10 = e.val_hr10;
    res.trials.push_back(t);
    total_s += t.seconds;
    if (t.val_ndcg10 > best) {
      best = t.val_ndcg10;
      res.best = k;
      VANE_RETURN_IF_ERROR(KeepBest(m, t, res.trials.size(), opt.dir));
    }
    VANE_RETURN_IF_ERROR(AppendTrial(trials_path, t));  // after the model: a kept best is always in the file
    if (opt.progress)
      std::fprintf(stderr, "trial %3d | %s | val ndcg@10 %.4f hr@10 %.4f (%d epochs, %s) | best %.4f (trial %d) | used %s, left %s\n",
                   k, Describe(t.cfg).c_str(), t.val_ndcg10, t.val_hr10, t.epochs, FormatDuration(t.seconds).c_str(),
                   best, res.best, FormatDuration(elapsed()).c_str(),
                   FormatDuration(std::max(0.0, opt.budget_s - elapsed())).c_str());
  }
  res.seconds = elapsed();
  return res;
}

std::string CpuTrainingReport(int threads) {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags, model;
  while (std::getline(in, line)) {
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = " " + line.substr(line.find(':') + 1) + " ";
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
  }
  auto has = [&](const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos ? "yes" : "no"; };
  std::string torch_cap;
  std::istringstream cfg(at::show_config());
  while (std::getline(cfg, line))
    if (line.find("CPU capability") != std::string::npos) torch_cap = line.substr(line.find_first_not_of(" -"));
  return fmt::format("cpu: {} | AVX2 {} | AVX-512 {} | AVX-512 BF16 {} | AMX BF16 {} | libtorch: {} | training threads {}",
                     model, has("avx2"), has("avx512f"), has("avx512_bf16"), has("amx_bf16"),
                     torch_cap.empty() ? "capability not reported" : torch_cap, threads);
}

}  // namespace vane
