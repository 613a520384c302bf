// The process default segmenter (DefaultSegmenter, SetDefaultSegmenter): which dictionary Tokenize cuts Chinese with.
#include "vane/text/segmenter.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>

#include <fmt/format.h>

#include "vane_zh_words.h"

namespace vane::text {

namespace {

std::mutex g_mu;
std::atomic<const Segmenter*> g_current{nullptr};
bool g_overridden = false;  // guarded by g_mu
std::once_flag g_once;

std::vector<std::shared_ptr<const Segmenter>>& Kept() {
  static auto* kept = new std::vector<std::shared_ptr<const Segmenter>>();  // never freed: pointers stay valid
  return *kept;
}

void Install(std::shared_ptr<const Segmenter> seg) {
  g_current.store(seg.get(), std::memory_order_release);
  if (seg) Kept().push_back(std::move(seg));
}

std::string HmmDirBeside(const std::string& dict_path) {
  std::filesystem::path dir = std::filesystem::path(dict_path).parent_path() / "finalseg";
  std::error_code ec;
  return std::filesystem::exists(dir / "prob_emit.py", ec) ? dir.string() : std::string();
}

// jieba's dictionary and HMM, vane's additions (zh_words.txt) and the user dictionaries of $VANE_ZH_USER_DICT
// (paths separated by ':').
Result<std::shared_ptr<const Segmenter>> LoadWithHmmBeside(const std::string& dict_path) {
  VANE_ASSIGN_OR_RETURN(Segmenter seg, Segmenter::Load(dict_path, HmmDirBeside(dict_path)));
  seg.set_split_compounds(true);
  VANE_RETURN_IF_ERROR(seg.AddWords(kZhWords, "zh_words.txt (built in)"));
  if (const char* env = std::getenv("VANE_ZH_USER_DICT")) {
    std::string_view list(env);
    while (!list.empty()) {
      std::string_view one = list.substr(0, list.find(':'));
      list.remove_prefix(std::min(list.size(), one.size() + 1));
      if (one.empty()) continue;
      if (Status s = seg.AddWordsFromFile(std::string(one)); !s.ok())
        return Status(s.code(), "VANE_ZH_USER_DICT: " + s.message());
    }
  }
  return std::make_shared<const Segmenter>(std::move(seg));
}

void LoadDefault() {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_overridden) return;  // set before the first use: nothing to load
  }
  std::shared_ptr<const Segmenter> seg;
  std::string why;
  const char* env = std::getenv("VANE_ZH_DICT");
  if (env && std::string_view(env) == "none") {
    why = "VANE_ZH_DICT=none";
  } else {
    std::string path = env && *env ? env : kDebianJiebaDict;
    auto r = LoadWithHmmBeside(path);
    if (r.ok())
      seg = *r;
    else
      why = fmt::format("{}{}", env && *env ? "VANE_ZH_DICT: " : "", r.status().ToString());
  }
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_overridden) return;
  if (!seg)
    std::cerr << "vane: no Chinese word dictionary (" << why
              << "); Chinese text is split into character bigrams. Install python3-jieba or set VANE_ZH_DICT to a "
                 "jieba-format dict.txt.\n";
  Install(std::move(seg));
}

}  // namespace

const Segmenter* DefaultSegmenter() {
  std::call_once(g_once, LoadDefault);
  return g_current.load(std::memory_order_acquire);
}

void SetDefaultSegmenter(std::shared_ptr<const Segmenter> seg) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_overridden = true;
  Install(std::move(seg));
}

Status UseSegmenterDictionary(const std::string& dict_path) {
  VANE_ASSIGN_OR_RETURN(auto seg, LoadWithHmmBeside(dict_path));
  SetDefaultSegmenter(std::move(seg));
  return Status::Ok();
}

}  // namespace vane::text
