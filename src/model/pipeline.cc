#include "vane/model/pipeline.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <unordered_map>

#include <fmt/format.h>

#include "vane/model/decoder_pipeline.h"
#include "vane/model/infer.h"
#include "vane/model/model_source.h"
#include "vane/text/tokenize.h"
#include "vane/text/word_vectors.h"

namespace vane {

namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Initialises the subword embeddings of the pieces that are whole words (sentencepiece marks a word start with
// U+2581) from the word vectors at `path`.
Status InitFromWordVectors(const text::SubwordTokenizer& tok, const std::string& path, bool quiet, ItemText& text) {
  std::unordered_map<std::string, int> want;
  for (int p = 0; p < tok.vocab_size(); ++p) {
    std::string w = tok.Piece(p);
    if (w.rfind("\xe2\x96\x81", 0) == 0) w = w.substr(3);
    if (!w.empty()) want.emplace(w, p);
  }
  VANE_ASSIGN_OR_RETURN(auto wv, text::LoadWordVectors(path, [&](const std::string& w) { return want.count(w) > 0; }));
  text.init_dim = wv.dim;
  text.init.assign(static_cast<size_t>(tok.vocab_size()) * wv.dim, 0.0f);
  text.init_known.assign(static_cast<size_t>(tok.vocab_size()), 0);
  for (const auto& [w, vec] : wv.vectors) {
    int p = want.at(w);
    std::copy(vec.begin(), vec.end(), text.init.begin() + static_cast<std::ptrdiff_t>(p) * wv.dim);
    text.init_known[static_cast<size_t>(p)] = 1;
  }
  if (!quiet)
    std::cerr << fmt::format("word vectors: {} of {} subword pieces initialised from {} ({} vectors, {} dims)\n",
                             wv.vectors.size(), tok.vocab_size(), path, wv.lines, wv.dim);
  return Status::Ok();
}

// Item and query text through a subword tokenizer trained on both. Leaves `side` as it is when there is no text.
Status BuildText(const Dataset& ds, const SideOptions& so, SideInfo& side) {
  std::vector<std::string> texts = ItemTexts(ds);
  size_t with_text = 0;
  for (const auto& t : texts) with_text += !text::Normalize(t).empty();
  if (with_text == 0 && ds.queries.size() == 0) return Status::Ok();
  text::SubwordTokenizer::Options to;
  to.vocab_size = so.text_vocab;
  VANE_ASSIGN_OR_RETURN(auto tok, text::SubwordTokenizer::Train(SubwordCorpus(ds), to));
  side.text.vocab_size = tok.vocab_size();
  for (const auto& t : texts) {
    auto ids = tok.Encode(t);
    if (ids.size() > 32) ids.resize(32);
    side.text.pieces.push_back(std::move(ids));
  }
  for (uint32_t q = 0; q < ds.queries.size(); ++q) {
    auto ids = tok.Encode(ds.queries.Name(q));
    if (ids.size() > 16) ids.resize(16);
    side.text.query_pieces.push_back(std::move(ids));
  }
  if (!so.word_vectors.empty()) VANE_RETURN_IF_ERROR(InitFromWordVectors(tok, so.word_vectors, so.quiet, side.text));
  side.tokenizer = std::move(tok);
  if (!so.quiet)
    std::cerr << fmt::format("item text: {} of {} items have text; {} queries; {} subword pieces\n", with_text,
                             ds.num_items(), ds.queries.size(), side.text.vocab_size);
  return Status::Ok();
}

// The keyword head predicts the next item's keywords among the `top` most common ones (by item count).
ItemKeywords BuildKeywords(const Dataset& ds, int top) {
  ItemKeywords out;
  std::vector<uint32_t> df(ds.catalog.keyword_vocab().size(), 0);
  for (uint32_t i = 0; i < ds.num_items(); ++i)
    for (uint32_t k : ds.catalog.keywords(ItemIdx(i))) ++df[k];
  std::vector<uint32_t> order;
  for (uint32_t k = 0; k < df.size(); ++k)
    if (df[k] >= 2) order.push_back(k);  // a keyword of one item says nothing an item id does not
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return df[a] > df[b] || (df[a] == df[b] && a < b); });
  if (order.size() > static_cast<size_t>(top)) order.resize(static_cast<size_t>(top));
  std::vector<int> dense(df.size(), -1);
  for (size_t j = 0; j < order.size(); ++j) {
    dense[order[j]] = static_cast<int>(j);
    out.names.push_back(ds.catalog.keyword_vocab().Name(order[j]));
  }
  out.ids.resize(ds.num_items());
  for (uint32_t i = 0; i < ds.num_items(); ++i)
    for (uint32_t k : ds.catalog.keywords(ItemIdx(i)))
      if (dense[k] >= 0 && out.ids[i].size() < 8) out.ids[i].push_back(dense[k]);
  return out;
}

// What the service reports of a background training: the best validation figures and the per-epoch curve (for the
// dashboard's training curves).
nlohmann::json TrainingInfo(const TrainedSeqModel& t, const Dataset& snap) {
  double best = 0, best_hr = 0;
  for (const auto& e : t.log)
    if (e.val_ndcg10 > best) {
      best = e.val_ndcg10;
      best_hr = e.val_hr10;
    }
  nlohmann::json info = {{"epochs", t.log.size()}, {"val_ndcg@10", best}, {"val_hr@10", best_hr},
                         {"train_seconds", t.seconds}, {"events", snap.events.size()}, {"users", snap.num_users()},
                         {"items", snap.num_items()}};
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& e : t.log)
    curve.push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"val_ndcg@10", e.val_ndcg10}, {"val_hr@10", e.val_hr10}});
  info["curve"] = std::move(curve);
  return info;
}

// The model's incremental state per user in the capture benchmark's replay.
struct CaptureState {
  explicit CaptureState(SeqInference model) : inf(std::move(model)) {}
  SeqInference inf;
  std::shared_ptr<const text::SubwordTokenizer> tok;
  std::unordered_map<uint32_t, SeqInference::State> states;
  std::unordered_map<uint32_t, Timestamp> last;
  std::vector<float> dist;

  uint32_t Top() const { return static_cast<uint32_t>(std::max_element(dist.begin(), dist.end()) - dist.begin()); }
};

}  // namespace

std::vector<std::string> ItemTexts(const Dataset& ds) {
  std::vector<std::string> texts;
  texts.reserve(ds.num_items());
  for (uint32_t i = 0; i < ds.num_items(); ++i) {
    const Item& it = ds.catalog.item(ItemIdx(i));
    std::string t = it.title;
    for (const auto& c : it.categories) t += " " + c;
    if (!it.text.empty()) t += " " + it.text;
    texts.push_back(std::move(t));
  }
  return texts;
}

std::vector<std::string> SubwordCorpus(const Dataset& ds) {
  std::vector<std::string> corpus = ItemTexts(ds);
  for (uint32_t q = 0; q < ds.queries.size(); ++q) corpus.push_back(ds.queries.Name(q));
  return corpus;
}

Result<SideInfo> BuildSideInfo(const Dataset& ds, const SideOptions& so) {
  SideInfo side;
  if (so.text) VANE_RETURN_IF_ERROR(BuildText(ds, so, side));
  side.cats.num_categories = static_cast<int>(ds.catalog.category_vocab().size());
  for (uint32_t i = 0; i < ds.num_items(); ++i) {
    auto c = ds.catalog.categories(ItemIdx(i));
    side.cats.main.push_back(c.empty() ? -1 : static_cast<int32_t>(c[0]));
  }
  if (so.keywords > 0) side.keywords = BuildKeywords(ds, so.keywords);
  return side;
}

Result<std::shared_ptr<const text::SubwordTokenizer>> LoadModelTokenizer(const std::string& dir) {
  if (!std::filesystem::exists(dir + "/subword.model")) return std::shared_ptr<const text::SubwordTokenizer>();
  VANE_ASSIGN_OR_RETURN(auto t, text::SubwordTokenizer::Load(dir + "/subword.model"));
  return std::make_shared<const text::SubwordTokenizer>(std::move(t));
}

SourceFactory ModelSourceFactory(std::shared_ptr<const SeqModel> model, std::shared_ptr<const text::SubwordTokenizer> tok,
                                 size_t cache_users, size_t cache_vectors, std::shared_ptr<const TextDecoder> decoder,
                                 size_t generated_slots) {
  return [model, tok, cache_users, cache_vectors, decoder, generated_slots](
             const Dataset& ds, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    return std::make_unique<ModelSource>(ds, st, model, cache_users, 50000, tok, cache_vectors, decoder,
                                         generated_slots);
  };
}

Result<std::shared_ptr<const TextDecoder>> LoadModelDecoder(const std::string& dir) {
  if (!std::filesystem::exists(DecoderPath(dir))) return std::shared_ptr<const TextDecoder>();
  VANE_ASSIGN_OR_RETURN(TextDecoder d, TextDecoder::Load(DecoderPath(dir)));
  return std::make_shared<const TextDecoder>(std::move(d));
}

Status UseModel(const std::string& dir, const Dataset& ds, EngineConfig& cfg, const UseModelOptions& opt) {
  if (dir.empty()) return Status::Ok();
  VANE_ASSIGN_OR_RETURN(SeqModel m, SeqModel::Load(dir));
  if (opt.exact && m.num_items() != ds.num_items())
    return Status::InvalidArgument(fmt::format("{}: the model was trained on {} items, this data has {}", dir,
                                               m.num_items(), ds.num_items()));
  VANE_ASSIGN_OR_RETURN(auto tok, LoadModelTokenizer(dir));
  VANE_ASSIGN_OR_RETURN(auto dec, LoadModelDecoder(dir));
  if (dec && (!tok || dec->in_dim != m.config().dim))
    return Status::InvalidArgument(dir + "/decoder.bin: does not belong to this model (width or tokenizer differs)");
  cfg.model_source = ModelSourceFactory(std::make_shared<const SeqModel>(std::move(m)), std::move(tok),
                                        opt.cache_users, opt.cache_vectors, std::move(dec), opt.generated_slots);
  return Status::Ok();
}

SeqModelConfig SmallModelConfig() {
  SeqModelConfig mc;
  mc.dim = 32;
  mc.max_len = 50;
  mc.batch = 32;
  mc.lr = 5e-3f;
  mc.warmup_steps = 10;
  return mc;
}

SideOptions SmallSideOptions() {
  SideOptions so;
  so.text_vocab = 2000;
  so.keywords = 64;
  so.quiet = true;
  return so;
}

Result<TrainedSeqModel> TrainWithSideInfo(const Dataset& ds, const SeqModelConfig& mc, const SideOptions& so,
                                          bool progress) {
  VANE_ASSIGN_OR_RETURN(SideInfo side, BuildSideInfo(ds, so));
  const bool text = side.text.vocab_size > 0;
  TrainedSeqModel out;
  auto t0 = std::chrono::steady_clock::now();
  VANE_ASSIGN_OR_RETURN(SeqModel m, SeqModel::Train(MakeSeqSplit(ds, text), ds.num_items(), mc, &out.log, progress,
                                                    text ? &side.text : nullptr, &side.cats,
                                                    side.keywords.names.empty() ? nullptr : &side.keywords));
  out.seconds = SecondsSince(t0);
  out.model = std::make_shared<const SeqModel>(std::move(m));
  if (side.tokenizer) out.tokenizer = std::make_shared<const text::SubwordTokenizer>(std::move(*side.tokenizer));
  return out;
}

SeqModelConfig BackgroundModelConfig() {
  SeqModelConfig mc = SmallModelConfig();
  mc.epochs = 10;
  mc.eval_users = 500;
  mc.threads = 1;
  return mc;
}

ModelTrainer MakeTrainer(const TrainerSpec& spec, size_t cache_users, size_t cache_vectors) {
  return [spec, cache_users, cache_vectors](const Dataset& snap, const std::string& dir) -> Result<TrainedModel> {
    VANE_ASSIGN_OR_RETURN(TrainedSeqModel t, TrainWithSideInfo(snap, spec.model, SmallSideOptions()));
    VANE_RETURN_IF_ERROR(t.model->Save(dir));
    if (t.tokenizer) VANE_RETURN_IF_ERROR(t.tokenizer->Save(dir + "/subword.model"));
    TrainedModel tm;
    tm.factory = ModelSourceFactory(t.model, t.tokenizer, cache_users, cache_vectors);
    tm.info = TrainingInfo(t, snap);
    return tm;
  };
}

Result<FullRankingTest> TestFullRanking(const SeqModel& model, const SeqSplit& split, const Dataset& ds,
                                        const std::vector<uint8_t>& cold) {
  if (model.num_items() != ds.num_items())
    return Status::InvalidArgument(fmt::format("the model was trained on {} items, this data has {}",
                                               model.num_items(), ds.num_items()));
  std::vector<uint32_t> counts(ds.num_items(), 0);
  for (const auto& q : split.train)
    for (uint32_t i : q)
      if (i < counts.size()) ++counts[i];  // searches are not items
  MetricAccumulator acc(ds.catalog, counts), acc_cold(ds.catalog, counts);
  std::vector<uint8_t> mask(ds.num_items(), 0);
  std::vector<uint32_t> all(ds.num_items());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<float> scores;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t u = 0; u < split.train.size(); ++u) {
    if (split.test_target[u] == UINT32_MAX) continue;
    std::vector<uint32_t> hist = split.train[u];
    hist.push_back(split.val_target[u]);
    std::vector<uint8_t> hside;
    if (!split.side[u].empty()) {
      hside = split.side[u];
      hside.push_back(split.val_side[u]);
    }
    model.Score(SeqInput{hist, hside}, scores);
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
  FullRankingTest out{acc.Result(), acc_cold.Result()};
  out.all.seconds = SecondsSince(t0);
  return out;
}

ModelInterest DescribeModelInterest(const SeqModel& model, const InterestStore& interests, UserIdx user,
                                    const Catalog& catalog) {
  std::vector<uint32_t> hist;
  for (ItemIdx i : interests.Interacted(user)) hist.push_back(i.v);
  ModelInterest mi = DescribeModelInterest(model.PredictInterest(hist), catalog);
  AddModelKeywords(mi, model.PredictKeywords(SeqInput{hist, {}}), model.keyword_names());
  return mi;
}

Status AddModelToCapture(const std::string& dir, const Dataset& ds, CaptureOptions& co) {
  VANE_ASSIGN_OR_RETURN(SeqModel m, SeqModel::Load(dir));
  if (m.num_items() != ds.num_items() || m.num_categories() == 0)
    return Status::InvalidArgument(dir + ": not trained on this generated data with categories");
  auto cs = std::make_shared<CaptureState>(SeqInference::FromModel(m));
  // The tokenizer saved with the model embeds the searches (this data's query ids need not be the training's).
  VANE_ASSIGN_OR_RETURN(cs->tok, LoadModelTokenizer(dir));
  const bool side = !cs->inf.weights().act.empty();
  // Each positive item event and each search goes into the user's incremental state with its action and the time
  // since the user's previous event; the top of the interest head is the model's answer to "what does this user
  // want now".
  co.model_interest = [cs, &ds, side](const Event& e) -> std::optional<uint32_t> {
    auto& st = cs->states[e.user.v];
    auto [lt, first] = cs->last.try_emplace(e.user.v, e.ts);
    uint8_t sd = side ? PackSide(ActionSlot(e.action), first ? 0 : GapBucket(static_cast<int64_t>(e.ts) - lt->second)) : 0;
    lt->second = e.ts;
    if (ds.IsPositiveItemEvent(e)) {
      cs->inf.Append(st, e.item.v, sd);
    } else if (!e.item.valid() && e.query != kNoQuery && cs->tok) {
      cs->inf.AppendQuery(st, cs->tok->Encode(ds.queries.Name(e.query)), sd);
    }
    if (st.h.empty()) return std::nullopt;
    cs->inf.Interest(st, cs->dist);
    return cs->Top();
  };
  // At a switch, before its event: the model's most likely next interest other than the current one.
  co.model_next_interest = [cs](UserIdx user, uint32_t current) -> std::optional<uint32_t> {
    auto it = cs->states.find(user.v);
    if (it == cs->states.end() || it->second.h.empty()) return std::nullopt;
    cs->inf.Interest(it->second, cs->dist);
    if (current < cs->dist.size()) cs->dist[current] = -1.0f;
    return cs->Top();
  };
  return Status::Ok();
}

}  // namespace vane
