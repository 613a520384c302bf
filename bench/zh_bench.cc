// Chinese word segmentation: accuracy against the hand-segmented gold set, dictionary load time and memory, and
// search quality on the generated data's Chinese queries with words against character bigrams.
// Usage:
//   vane_zh_bench gold   [--gold DIR] [--bigrams] [--no-hmm] [--plain] [--mismatches]
//   vane_zh_bench load   [--dict PATH] [--repeat N]
//   vane_zh_bench search [--seed S] [--bigrams]
// The dictionary is the process default (text::DefaultSegmenter: $VANE_ZH_DICT, else python3-jieba's dict.txt).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vane/eval/capture.h"
#include "vane/gen/generator.h"
#include "vane/interest/user_state.h"
#include "vane/retrieve/sources.h"
#include "vane/text/seg_eval.h"
#include "vane/text/segmenter.h"
#include "vane/text/tokenize.h"

namespace {

using namespace vane;

text::TokenizeOptions SegOptions(bool bigrams, bool hmm) {
  text::TokenizeOptions o;
  o.drop_stopwords = false;  // every word is scored
  o.min_word_len = 1;
  o.zh_bigrams = bigrams;
  o.zh_hmm = hmm;
  return o;
}

// The three parts of the gold set (tests/fixtures/zh_seg/README.md): the demo catalogue's words, the dev part
// (gold_general.txt: rules and additions were chosen while looking at it) and the frozen held-out part
// (gold_heldout.txt: reported, never tuned on).
std::string PartOf(const std::string& file, const text::GoldEntry& e) {
  if (e.group.rfind("demo", 0) == 0) return "demo";
  return std::filesystem::path(file).stem().string().find("heldout") != std::string::npos ? "held-out" : "dev";
}

int Gold(const std::string& dir, bool bigrams, bool hmm, bool show, bool plain) {
  std::map<std::string, std::vector<text::GoldEntry>> parts;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".txt") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  size_t total = 0;
  for (const auto& f : files) {
    auto g = text::LoadGold(f);
    if (!g.ok()) {
      std::cerr << g.status().ToString() << "\n";
      return 1;
    }
    for (auto& e : *g) parts[PartOf(f, e)].push_back(std::move(e));
    total += g->size();
  }
  const text::Segmenter* seg = text::DefaultSegmenter();
  if (!seg && !bigrams) std::cerr << "no dictionary: these are the bigram fallback's figures\n";
  auto opt = SegOptions(bigrams, hmm);
  // --plain: jieba's dictionary and HMM alone (no additions, no numeral convention, no compound splitting), as
  // jieba itself cuts.
  std::optional<text::Segmenter> jieba;
  if (plain) {
    std::string dict = std::getenv("VANE_ZH_DICT") ? std::getenv("VANE_ZH_DICT") : text::kDebianJiebaDict;
    auto r = text::Segmenter::Load(dict, (std::filesystem::path(dict).parent_path() / "finalseg").string());
    if (!r.ok()) {
      std::cerr << r.status().ToString() << "\n";
      return 1;
    }
    jieba = std::move(*r);
    jieba->set_split_numerals(false);
    opt.segmenter = &*jieba;
  }
  std::cout << fmt::format("segmentation: {}{}; gold: {} entries in {}\n",
                           bigrams || !seg ? "character bigrams"
                           : plain         ? "jieba's dictionary alone"
                                           : "dictionary",
                           bigrams || !seg ? ""
                           : hmm           ? " + HMM"
                                           : " (no HMM)",
                           total, dir);
  std::cout << "| part | group | entries | gold words | system words | correct | precision | recall | F1 "
               "|\n|---|---|---|---|---|---|---|---|---|\n";
  auto row = [&](const std::string& part, const std::string& name, size_t entries, const text::SegScore& s) {
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} |\n", part, name, entries,
                             s.gold, s.system, s.correct, s.precision(), s.recall(), s.f1());
  };
  auto add = [](text::SegScore& to, const text::SegScore& s) {
    to.gold += s.gold;
    to.system += s.system;
    to.correct += s.correct;
  };
  std::map<std::string, text::SegScore> part_score;
  std::vector<std::string> mismatches;
  for (const char* part : {"demo", "dev", "held-out"}) {
    const auto& gold = parts[part];
    if (gold.empty()) continue;
    auto rep = text::ScoreSegmentation(gold, [&](std::string_view s) { return text::Tokenize(s, opt); });
    if (!rep.ok()) {
      std::cerr << rep.status().ToString() << "\n";
      return 1;
    }
    std::map<std::string, size_t> n;
    for (const auto& e : gold) ++n[e.group];
    for (const auto& [g, s] : rep->by_group) row(part, g, n[g], s);
    part_score[part] = rep->all;
    for (const auto& m : rep->mismatches) mismatches.push_back(fmt::format("[{}] {}", part, m));
  }
  for (const char* part : {"demo", "dev", "held-out"})
    if (!parts[part].empty()) row(fmt::format("**{}**", part), "all", parts[part].size(), part_score[part]);
  text::SegScore demo_dev;  // the figure the set had before the held-out part existed
  add(demo_dev, part_score["demo"]);
  add(demo_dev, part_score["dev"]);
  row("demo + dev", "all", parts["demo"].size() + parts["dev"].size(), demo_dev);
  if (show)
    for (const auto& m : mismatches) std::cout << "  " << m << "\n";
  return 0;
}

size_t RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

int Load(const std::string& path, int repeat) {
  std::vector<double> ms;
  text::Segmenter::Stats st;
  size_t rss_before = RssKiB(), rss_after = 0;
  std::string hmm = (std::filesystem::path(path).parent_path() / "finalseg").string();
  if (!std::filesystem::exists(hmm + "/prob_emit.py")) hmm.clear();
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto seg = text::Segmenter::Load(path, hmm);
    auto t1 = std::chrono::steady_clock::now();
    if (!seg.ok()) {
      std::cerr << seg.status().ToString() << "\n";
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    st = seg->stats();
    if (r == 0) rss_after = RssKiB();
  }
  std::sort(ms.begin(), ms.end());
  std::cout << fmt::format(
      "dictionary {} ({} bytes), HMM {}: {} words; load median {:.0f} ms (min {:.0f}, max {:.0f}, "
      "{} runs); tables {:.1f} MiB; RSS +{:.1f} MiB after the first load\n",
      path, std::filesystem::file_size(path), st.hmm ? hmm : "none", st.words, ms[ms.size() / 2], ms.front(), ms.back(),
      ms.size(), st.bytes / 1048576.0, (rss_after - rss_before) / 1024.0);
  return 0;
}

// For each Chinese search of the generated data: the search's top 10 (ContentSource::Search) against the topic the
// user pursued (truth) and the item the user viewed next.
int Search(uint64_t seed, bool bigrams) {
  if (bigrams) text::SetDefaultSegmenter(nullptr);
  gen::GenOptions go;
  go.seed = seed;
  gen::Generated g = gen::Generate(go);
  Dataset ds;
  ImportReport report;
  if (Status s = BuildGeneratedDataset(g, ds, report); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  InterestStore st(ds);
  ContentSource cs(ds, st, {});
  std::unordered_map<std::string, std::string> cat_of;
  for (const auto& it : g.items) cat_of[it.id] = it.categories.empty() ? "" : it.categories[0];
  size_t searches = 0, empty = 0, next_hits = 0, with_next = 0;
  double on_topic = 0;
  for (size_t i = 0; i < g.events.size(); ++i) {
    const auto& e = g.events[i];
    if (e.action != "search" || !text::HasHan(e.query)) continue;
    ++searches;
    auto res = cs.Search(e.query, 10);
    if (res.empty()) ++empty;
    size_t good = 0;
    for (auto& [idx, score] : res) good += cat_of[ds.catalog.item(idx).id] == g.truth[i].intent;
    on_topic += res.empty() ? 0.0 : static_cast<double>(good) / static_cast<double>(res.size());
    for (size_t j = i + 1; j < g.events.size(); ++j) {
      const auto& n = g.events[j];
      if (n.user != e.user) continue;
      if (n.action == "search") break;
      if (n.action != "view" && n.action != "click") continue;
      ++with_next;
      for (auto& [idx, score] : res) next_hits += ds.catalog.item(idx).id == n.item;
      break;
    }
  }
  std::cout << fmt::format(
      "seed {} | {} | {} Chinese searches | no result {:.1f}% | on-topic share of the top 10 {:.3f} | "
      "next viewed item in the top 10 {:.3f} ({} searches followed by a view)\n",
      seed, bigrams || !text::DefaultSegmenter() ? "character bigrams" : "dictionary words", searches,
      100.0 * static_cast<double>(empty) / static_cast<double>(std::max<size_t>(1, searches)),
      on_topic / static_cast<double>(std::max<size_t>(1, searches)),
      static_cast<double>(next_hits) / static_cast<double>(std::max<size_t>(1, with_next)), with_next);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chinese word segmentation: accuracy, load cost, search quality"};
  app.require_subcommand(1);
  std::string gold_dir = VANE_ZH_GOLD_DIR, dict = vane::text::kDebianJiebaDict;
  bool bigrams = false, no_hmm = false, show = false, plain = false;
  int repeat = 5;
  uint64_t seed = 42;
  auto* g = app.add_subcommand("gold", "precision and recall against the hand-segmented gold set");
  g->add_option("--gold", gold_dir, "folder of gold files (*.txt)");
  g->add_flag("--bigrams", bigrams, "score the dictionary-free character bigrams instead");
  g->add_flag("--no-hmm", no_hmm, "dictionary words only, no HMM for unknown words");
  g->add_flag("--mismatches", show, "list the entries with an error");
  g->add_flag("--plain", plain, "jieba's dictionary and HMM alone: without vane's additions and numeral convention");
  auto* l = app.add_subcommand("load", "dictionary load time and memory");
  l->add_option("--dict", dict, "jieba-format dict.txt");
  l->add_option("--repeat", repeat, "loads to time")->check(CLI::Range(1, 100));
  auto* s = app.add_subcommand("search", "content search on the generated data's Chinese queries");
  s->add_option("--seed", seed, "generator seed");
  s->add_flag("--bigrams", bigrams, "index and query with character bigrams");
  CLI11_PARSE(app, argc, argv);
  if (g->parsed()) return Gold(gold_dir, bigrams, !no_hmm, show, plain);
  if (l->parsed()) return Load(dict, repeat);
  return Search(seed, bigrams);
}
