#include "vane/model/decoder_pipeline.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <unordered_set>

#include "vane/core/progress.h"
#include "vane/interest/describe.h"
#include "vane/interest/user_state.h"
#include "vane/model/interest_text.h"
#include "vane/text/tokenize.h"

namespace vane {

namespace {

constexpr const char* kWordMark = "\xe2\x96\x81";  // U+2581, sentencepiece's word start

std::string JoinUnique(const std::vector<std::string>& words) {
  std::unordered_set<std::string> seen;
  std::string out;
  for (const auto& w : words)
    if (seen.insert(w).second) {
      if (!out.empty()) out += ' ';
      out += w;
    }
  return out;
}

std::unordered_set<std::string> WordSet(std::string_view s) {
  auto w = text::Tokenize(s);
  return {w.begin(), w.end()};
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// The interest graph of every user fed their events up to (not including) the validation item, as the model's
// training history ends there; `last_ts` receives each user's last event time in it.
std::unique_ptr<InterestStore> GraphBeforeValidation(const Dataset& ds, std::vector<Timestamp>& last_ts) {
  const size_t U = ds.num_users();
  std::vector<uint32_t> items(U, 0), seen(U, 0);
  // The items of the model's split (MakeSeqSplit): positive item events, in time order.
  auto counts = [&](const Event& e) { return ds.IsPositiveItemEvent(e); };
  for (const Event& e : ds.events)
    if (counts(e)) ++items[e.user.v];
  auto graph = std::make_unique<InterestStore>(ds);
  last_ts.assign(U, 0);
  std::vector<uint8_t> closed(U, 0);
  for (uint32_t idx : ds.TimeOrder()) {
    const Event& e = ds.events[idx];
    const uint32_t u = e.user.v;
    if (closed[u]) continue;
    if (counts(e) && items[u] >= 3 && seen[u] == items[u] - 2) {
      closed[u] = 1;  // the validation item: this user's training history ends here
      continue;
    }
    if (counts(e)) ++seen[u];
    graph->Apply(e);
    last_ts[u] = e.ts;
  }
  return graph;
}

// The model's template: the interest head's named interests and the keyword head's keywords.
std::string ModelTemplateWords(const SeqModel& model, SeqInput in, const Dataset& ds) {
  std::string out;
  std::vector<float> dist = model.PredictInterest(in);
  if (dist.empty()) return out;
  ModelInterest mi = DescribeModelInterest(dist, ds.catalog);
  AddModelKeywords(mi, model.PredictKeywords(in), model.keyword_names());
  for (const auto& [c, p] : mi.top) out += ds.catalog.category_vocab().Name(c) + " ";
  for (const auto& w : mi.keywords) out += w + " ";
  return out;
}

// The graph's template: what its text names (interests now and usually, keywords now).
std::string GraphTemplateWords(const InterestStore& graph, UserIdx u, Timestamp now) {
  std::string out;
  InterestSummary sum = Describe(graph, u, now);
  for (const auto* lines : {&sum.now, &sum.usually})
    for (const auto& l : *lines) out += l.name + " ";
  for (const auto& w : sum.keywords_now) out += w + " ";
  return out;
}

// The words of the last item in a training sequence (the yardstick: "more of the same").
std::string LastItemWords(const Dataset& ds, std::span<const uint32_t> seq) {
  std::string out;
  for (auto it = seq.rbegin(); it != seq.rend(); ++it)
    if (*it < ds.num_items()) {
      for (const auto& w : ItemWords(ds, ItemIdx(*it))) out += w + " ";
      break;
    }
  return out;
}

}  // namespace

std::vector<std::string> ItemWords(const Dataset& ds, ItemIdx i) {
  const Item& it = ds.catalog.item(i);
  std::string t;
  for (const auto& c : it.categories) t += c + " ";
  t += it.title + " " + it.text;
  auto w = text::Tokenize(t);
  std::unordered_set<std::string> seen;
  std::vector<std::string> out;
  for (auto& x : w)
    if (seen.insert(x).second) out.push_back(std::move(x));
  return out;
}

NextText BuildNextText(const Dataset& ds, const text::SubwordTokenizer& tok, int max_pieces) {
  NextText nt;
  auto cut = [&](std::vector<int> ids) {
    if (ids.size() > static_cast<size_t>(max_pieces)) ids.resize(static_cast<size_t>(max_pieces));
    return ids;
  };
  nt.item.reserve(ds.num_items());
  for (uint32_t i = 0; i < ds.num_items(); ++i) {
    std::string s = JoinUnique(ItemWords(ds, ItemIdx(i)));
    nt.item.push_back(s.empty() ? std::vector<int>{} : cut(tok.Encode(s)));
  }
  for (uint32_t q = 0; q < ds.queries.size(); ++q) {
    std::string s = JoinUnique(text::Tokenize(ds.queries.Name(q)));
    nt.query.push_back(s.empty() ? std::vector<int>{} : cut(tok.Encode(s)));
  }
  return nt;
}

std::vector<uint8_t> WordStarts(const text::SubwordTokenizer& tok) {
  std::vector<uint8_t> ws(static_cast<size_t>(tok.vocab_size()), 0);
  for (int p = 0; p < tok.vocab_size(); ++p) ws[static_cast<size_t>(p)] = tok.Piece(p).rfind(kWordMark, 0) == 0;
  return ws;
}

std::string PiecesToText(const text::SubwordTokenizer& tok, std::span<const int> ids) {
  std::string s;
  for (int id : ids) {
    std::string p = tok.Piece(id);
    if (p.rfind(kWordMark, 0) == 0) {
      if (!s.empty()) s += ' ';
      s += p.substr(3);
    } else {
      s += p;
    }
  }
  return s;
}

std::string DecoderPath(const std::string& model_dir) { return model_dir + "/decoder.bin"; }

Result<DecoderRun> TrainDecoderForModel(const SeqModel& model, const SeqSplit& split, const Dataset& ds,
                                        const text::SubwordTokenizer& tok, const TextDecoderConfig& cfg,
                                        size_t max_pairs, bool progress) {
  if (model.num_items() != ds.num_items())
    return Status::InvalidArgument("text decoder: the model was trained on another catalogue");
  const int C = model.config().dim;
  const int L = model.config().max_len;
  NextText nt = BuildNextText(ds, tok, cfg.max_target);
  const auto N = static_cast<uint32_t>(ds.num_items());
  auto text_of = [&](uint32_t token) -> const std::vector<int>* {
    if (token < N) return &nt.item[token];
    uint32_t q = token - N;
    return q < nt.query.size() ? &nt.query[q] : nullptr;
  };
  // Positions with a next event that has text; sampled uniformly down to max_pairs.
  size_t total = 0;
  for (const auto& s : split.train) total += s.size() > 1 ? std::min<size_t>(s.size(), static_cast<size_t>(L)) - 1 : 0;
  if (total == 0) return Status::InvalidArgument("text decoder: no training sequence has two events");
  const double keep = std::min(1.0, static_cast<double>(max_pairs) / static_cast<double>(total));
  std::mt19937_64 rng(cfg.seed);
  std::bernoulli_distribution take(keep);
  DecoderRun run;
  std::vector<float> states;
  std::vector<std::vector<int>> targets;
  auto t0 = std::chrono::steady_clock::now();
  {
    Progress prog("decoder pairs", split.train.size(), "users", progress);
    for (size_t u = 0; u < split.train.size(); ++u) {
      prog.Update(u + 1);
      const auto& s = split.train[u];
      if (s.size() < 2) continue;
      // The window the model reads ends at the second-to-last token; each of its positions predicts the next.
      std::span<const uint32_t> in(s.data(), s.size() - 1);
      std::span<const uint8_t> side;
      if (u < split.side.size() && !split.side[u].empty())
        side = std::span<const uint8_t>(split.side[u].data(), std::min(split.side[u].size(), in.size()));
      const size_t W = std::min<size_t>(in.size(), static_cast<size_t>(L));
      std::vector<size_t> picked;
      for (size_t j = 0; j < W; ++j) {
        const auto* t = text_of(s[in.size() - W + j + 1]);
        if (t && !t->empty() && take(rng)) picked.push_back(j);
      }
      if (picked.empty()) continue;
      std::vector<float> h = model.Hidden(SeqInput{in, side});
      for (size_t j : picked) {
        states.insert(states.end(), h.begin() + static_cast<std::ptrdiff_t>(j * C),
                      h.begin() + static_cast<std::ptrdiff_t>((j + 1) * C));
        targets.push_back(*text_of(s[in.size() - W + j + 1]));
      }
    }
    prog.Finish();
  }
  run.pairs = targets.size();
  run.state_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto t1 = std::chrono::steady_clock::now();
  VANE_ASSIGN_OR_RETURN(run.decoder, TrainTextDecoder(states, C, targets, WordStarts(tok), cfg, &run.log, progress));
  run.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  return run;
}

Result<InterestTextEval> EvaluateInterestText(const SeqModel& model, const TextDecoder& dec, const SeqSplit& split,
                                              const Dataset& ds, const text::SubwordTokenizer& tok,
                                              size_t max_users, size_t samples, bool progress) {
  if (model.num_items() != ds.num_items())
    return Status::InvalidArgument("text evaluation: the model was trained on another catalogue");
  if (dec.in_dim != model.config().dim) return Status::InvalidArgument("text evaluation: decoder and model differ in width");
  const size_t U = ds.num_users();
  std::vector<Timestamp> last_ts;
  auto graph = GraphBeforeValidation(ds, last_ts);

  std::vector<uint32_t> users;
  for (uint32_t u = 0; u < U && u < split.train.size(); ++u)
    if (split.val_target[u] != UINT32_MAX && !split.train[u].empty()) users.push_back(u);
  std::mt19937_64 rng(7);
  std::shuffle(users.begin(), users.end(), rng);
  if (max_users > 0 && users.size() > max_users) users.resize(max_users);

  struct Acc {
    double p = 0, r = 0, f = 0, w = 0;
  };
  enum { kGen, kModel, kGraph, kLast, kMethods };
  static const char* kNames[kMethods] = {"generated (decoder)", "model template (interest + keyword heads)",
                                         "graph template (interest graph)", "last item's words"};
  Acc acc[kMethods];
  InterestTextEval out;
  std::vector<double> decode_us;
  const int C = model.config().dim;
  Progress prog("interest text", users.size(), "users", progress);
  for (size_t k = 0; k < users.size(); ++k) {
    prog.Update(k + 1);
    const uint32_t u = users[k];
    const auto& s = split.train[u];
    std::span<const uint8_t> side;
    if (u < split.side.size() && !split.side[u].empty()) side = split.side[u];
    // Reference: the words of the next two items.
    std::unordered_set<std::string> ref;
    for (uint32_t t : {split.val_target[u], split.test_target[u]})
      if (t != UINT32_MAX)
        for (auto& w : ItemWords(ds, ItemIdx(t))) ref.insert(std::move(w));
    if (ref.empty()) continue;
    std::vector<float> h = model.Hidden(SeqInput{s, side});
    const float* last = h.data() + h.size() - static_cast<size_t>(C);
    auto td = std::chrono::steady_clock::now();
    std::vector<int> gen_ids = dec.Decode(last);
    decode_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - td).count());
    const std::string gen_text = PiecesToText(tok, gen_ids);
    const std::string model_text = ModelTemplateWords(model, SeqInput{s, side}, ds);
    const std::string graph_text = GraphTemplateWords(*graph, UserIdx(u), last_ts[u]);
    const std::string last_text = LastItemWords(ds, s);
    const std::string* texts[kMethods] = {&gen_text, &model_text, &graph_text, &last_text};
    double gen_p = 0, gen_r = 0;
    for (int m = 0; m < kMethods; ++m) {
      auto words = WordSet(*texts[m]);
      size_t hit = 0;
      for (const auto& w : words) hit += ref.count(w);
      double p = words.empty() ? 0 : static_cast<double>(hit) / static_cast<double>(words.size());
      double r = static_cast<double>(hit) / static_cast<double>(ref.size());
      acc[m].p += p;
      acc[m].r += r;
      acc[m].f += p + r > 0 ? 2 * p * r / (p + r) : 0;
      acc[m].w += static_cast<double>(words.size());
      if (m == kGen) gen_p = p, gen_r = r;
    }
    ++out.users;
    if (out.samples.size() < samples) {
      std::string next;
      for (uint32_t t : {split.val_target[u], split.test_target[u]})
        if (t != UINT32_MAX) next += (next.empty() ? "" : " | ") + ds.catalog.item(ItemIdx(t)).title;
      out.samples.push_back({ds.users.Name(u), gen_text, model_text, graph_text, next, gen_p, gen_r});
    }
  }
  prog.Finish();
  const double n = static_cast<double>(std::max<size_t>(1, out.users));
  for (int m = 0; m < kMethods; ++m)
    out.rows.push_back({kNames[m], acc[m].p / n, acc[m].r / n, acc[m].f / n, acc[m].w / n});
  out.decode_p50_us = Quantile(decode_us, 0.5);
  out.decode_p99_us = Quantile(decode_us, 0.99);
  return out;
}

}  // namespace vane
