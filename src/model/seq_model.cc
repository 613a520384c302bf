// Shapes: B = batch, T = positions (max_len), C = width, H = heads, N = catalogue size (+1 for padding id 0).
#include "vane/model/seq_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"

namespace vane {
namespace {

constexpr int kFormatVersion = 2;  // 2: rotary positions (1 had learnt absolute positions)

// Rotary position embedding (RoPE) on (..., T, D): the two halves of each head's vector rotate by angles that grow
// with the position. Attention scores then depend only on the distance between two events, so keys cached for a
// user stay valid as new events arrive (the incremental inference relies on it) and padding does not matter.
torch::Tensor Rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  auto d = x.size(-1) / 2;
  auto x1 = x.slice(-1, 0, d), x2 = x.slice(-1, d);
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, -1);
}

// cos/sin tables (T, D/2) for positions 0..T-1, frequencies 10000^(-2i/D).
std::pair<torch::Tensor, torch::Tensor> RopeTables(int64_t T, int64_t D) {
  auto inv = torch::pow(10000.0, -torch::arange(0, D / 2, torch::kFloat) * 2.0 / static_cast<double>(D));
  auto ang = torch::arange(T, torch::kFloat).unsqueeze(1) * inv.unsqueeze(0);
  return {ang.cos(), ang.sin()};
}

struct BlockImpl : torch::nn::Module {
  BlockImpl(int c, int h, float p) : heads(h) {
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c})));
    qkv = register_module("qkv", torch::nn::Linear(c, 3 * c));
    proj = register_module("proj", torch::nn::Linear(c, c));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c})));
    fc1 = register_module("fc1", torch::nn::Linear(c, 4 * c));
    fc2 = register_module("fc2", torch::nn::Linear(4 * c, c));
    drop = register_module("drop", torch::nn::Dropout(p));
  }
  // x: (B, T, C); mask: (B, 1, T, T) additive: causal, and padded keys masked out; cos/sin: (T, D/2) rotary tables.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& cos,
                        const torch::Tensor& sin) {
    auto B = x.size(0), T = x.size(1), C = x.size(2);
    auto q_k_v = qkv(ln1(x)).view({B, T, 3, heads, C / heads}).permute({2, 0, 3, 1, 4});  // (3, B, H, T, C/H)
    // Scale q (T x C/H) rather than the T x T scores; no dropout on the attention matrix (the residual paths keep
    // theirs): both save full passes over the largest tensors of the step.
    auto q = q_k_v[0] * (1.0 / std::sqrt(static_cast<double>(C / heads))), k = q_k_v[1], v = q_k_v[2];
    q = Rope(q, cos, sin);
    k = Rope(k, cos, sin);
    auto att = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) + mask, -1);
    if (keep_attention) last_attention = att.detach();
    auto y = torch::matmul(att, v).transpose(1, 2).contiguous().view({B, T, C});
    auto h = x + drop(proj(y));
    return h + drop(fc2(torch::gelu(fc1(ln2(h)))));
  }
  int heads;
  bool keep_attention = false;
  torch::Tensor last_attention;  // (B, H, T, T) of the last forward, when keep_attention
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(Block);

// Sizes of a Net's tables; from the training inputs, or from model.json when loading (buffers then come from the
// weights file).
struct NetShape {
  int64_t items = 0, vocab = 0, pieces = 0, categories = 0, queries = 0, query_pieces = 0, keywords = 0,
          keyword_slots = 0;
  bool side = false;
};

// Packs variable-length id lists as (ids, offsets) for embedding_bag; bag 0 is the empty padding row when `pad`.
std::pair<torch::Tensor, torch::Tensor> Bags(const std::vector<std::vector<int>>& lists, int64_t n, bool pad) {
  std::vector<int64_t> ids, offsets;
  if (pad) offsets.push_back(0);
  for (int64_t i = 0; i < n; ++i) {
    offsets.push_back(static_cast<int64_t>(ids.size()));
    if (i < static_cast<int64_t>(lists.size()))
      for (int p : lists[static_cast<size_t>(i)]) ids.push_back(p);
  }
  return {torch::tensor(ids, torch::kLong), torch::tensor(offsets, torch::kLong)};
}

struct NetImpl : torch::nn::Module {
  // Training: text/cats/keywords give the side tables. Loading: they are null and `shape` sizes the buffers.
  NetImpl(const SeqModelConfig& cfg, NetShape shape, const ItemText* text = nullptr,
          const ItemCategories* cats = nullptr, const ItemKeywords* keywords = nullptr)
      : n_items(shape.items) {
    if (cats) shape.categories = cats->num_categories;
    if (shape.categories > 0) {
      interest = register_module("interest", torch::nn::Linear(cfg.dim, shape.categories));
      std::vector<int64_t> mc(static_cast<size_t>(n_items) + 1, -1);
      if (cats)
        for (int64_t i = 0; i < n_items && i < static_cast<int64_t>(cats->main.size()); ++i) mc[i + 1] = cats->main[i];
      item_cat = register_buffer("item_cat", torch::tensor(mc, torch::kLong));
    }
    if (keywords) {
      shape.keywords = static_cast<int64_t>(keywords->names.size());
      shape.keyword_slots = 0;
      for (const auto& k : keywords->ids) shape.keyword_slots = std::max<int64_t>(shape.keyword_slots, k.size());
    }
    if (shape.keywords > 0 && shape.keyword_slots > 0) {
      keyword = register_module("keyword", torch::nn::Linear(cfg.dim, shape.keywords));
      // (N+1, S) keyword ids of each item, -1 = none; row 0 = padding.
      std::vector<int64_t> kw(static_cast<size_t>((n_items + 1) * shape.keyword_slots), -1);
      if (keywords)
        for (int64_t i = 0; i < n_items && i < static_cast<int64_t>(keywords->ids.size()); ++i)
          for (size_t j = 0; j < keywords->ids[i].size(); ++j)
            kw[static_cast<size_t>((i + 1) * shape.keyword_slots) + j] = keywords->ids[i][j];
      item_kw = register_buffer("item_kw", torch::tensor(kw, torch::kLong).view({n_items + 1, shape.keyword_slots}));
    }
    item = register_module("item", torch::nn::Embedding(torch::nn::EmbeddingOptions(n_items + 1, cfg.dim).padding_idx(0)));
    if (text) {
      shape.vocab = text->vocab_size;
      std::tie(piece_ids, piece_offsets) = Bags(text->pieces, n_items, true);
      shape.queries = static_cast<int64_t>(text->query_pieces.size());
      if (shape.queries > 0) std::tie(qpiece_ids, qpiece_offsets) = Bags(text->query_pieces, shape.queries, false);
    } else if (shape.vocab > 0) {
      piece_ids = torch::zeros({shape.pieces}, torch::kLong);
      piece_offsets = torch::zeros({n_items + 1}, torch::kLong);
      if (shape.queries > 0) {
        qpiece_ids = torch::zeros({shape.query_pieces}, torch::kLong);
        qpiece_offsets = torch::zeros({shape.queries}, torch::kLong);
      }
    }
    if (shape.vocab > 0) {
      sub = register_module("sub", torch::nn::Embedding(shape.vocab, cfg.dim));
      torch::nn::init::normal_(sub->weight, 0.0, 0.02);
      if (text && text->init_dim > 0) InitFromWordVectors(*text, cfg);
      register_buffer("piece_ids", piece_ids);
      register_buffer("piece_offsets", piece_offsets);
      if (shape.queries > 0) {
        n_queries = shape.queries;
        register_buffer("qpiece_ids", qpiece_ids);
        register_buffer("qpiece_offsets", qpiece_offsets);
      }
    }
    if (shape.side) {
      act = register_module("act", torch::nn::Embedding(kSideSlots, cfg.dim));
      gap = register_module("gap", torch::nn::Embedding(kSideSlots, cfg.dim));
      torch::nn::init::normal_(act->weight, 0.0, 0.02);
      torch::nn::init::normal_(gap->weight, 0.0, 0.02);
    }
    drop = register_module("drop", torch::nn::Dropout(cfg.dropout));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int l = 0; l < cfg.layers; ++l) blocks->push_back(Block(cfg.dim, cfg.heads, cfg.dropout));
    ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.dim})));
    torch::nn::init::normal_(item->weight, 0.0, 0.02);
    torch::NoGradGuard g;
    item->weight[0].zero_();
    this->shape = shape;
  }
  // Pre-trained word vectors into the subword table: a vector of width init_dim enters as is when it equals the
  // model width, else through a fixed (seeded) Gaussian projection; either way each row is rescaled to the random
  // initialisation's norm, so known and unknown pieces start on the same scale.
  void InitFromWordVectors(const ItemText& text, const SeqModelConfig& cfg) {
    torch::NoGradGuard g;
    const int64_t V = sub->weight.size(0), D = text.init_dim, C = cfg.dim;
    auto vecs = torch::from_blob(const_cast<float*>(text.init.data()), {V, D}, torch::kFloat).clone();
    if (D != C) {
      auto gen = at::detail::createCPUGenerator(cfg.seed + 7);
      auto proj = at::normal(0.0, 1.0 / std::sqrt(static_cast<double>(D)), {D, C}, gen);
      vecs = torch::matmul(vecs, proj);
    }
    double target = 0.02 * std::sqrt(static_cast<double>(C));
    vecs = vecs * (target / vecs.norm(2, 1, true).clamp_min(1e-12));
    for (int64_t p = 0; p < V && p < static_cast<int64_t>(text.init_known.size()); ++p)
      if (text.init_known[static_cast<size_t>(p)]) sub->weight[p].copy_(vecs[p]);
  }
  // The item table (N+1, C): the learnt id embedding plus, with text, the mean of the item's subword embeddings, so
  // an item with text but no interactions still has a meaningful vector. Row 0 (padding) is zero.
  // `id_keep` (N+1, 1), when defined, scales each id embedding (0 = the item is seen through its text alone).
  torch::Tensor Table(const torch::Tensor& id_keep = {}) {
    if (!sub) return item->weight;
    auto text = torch::embedding_bag(sub->weight, piece_ids, piece_offsets, false, /*mode=mean*/ 1);
    return (id_keep.defined() ? item->weight * id_keep : item->weight) + std::get<0>(text);
  }
  // Vectors of the training queries (Q, C): the mean of their subword embeddings (no learnt id: a new query is
  // embedded the same way from its pieces).
  torch::Tensor QueryTable() {
    return std::get<0>(torch::embedding_bag(sub->weight, qpiece_ids, qpiece_offsets, false, /*mode=mean*/ 1));
  }
  // ids: (B, T) tokens + 1, 0 = padding (left padded), T <= max_len; tokens above N are searches. side: (B, T)
  // packed action/gap bytes, or undefined. Returns hidden states (B, T, C).
  // Positions enter only through the rotary embedding (relative distances), so a window of any length means the
  // same thing: batches are cut to their longest sequence instead of max_len.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& side = {}) { return forward(ids, Table(), side); }
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& table, const torch::Tensor& side) {
    auto T = ids.size(1);
    auto input = n_queries > 0 ? torch::cat({table, QueryTable()}, 0) : table;
    auto emb = input.index_select(0, ids.reshape({-1})).view({ids.size(0), T, -1});
    auto x = emb * std::sqrt(static_cast<double>(item->weight.size(1)));
    if (act && side.defined()) x = x + act(torch::bitwise_right_shift(side, 4)) + gap(torch::bitwise_and(side, 15));
    x = drop(x);
    auto [cos, sin] = RopeTables(T, item->weight.size(1) / blocks[0]->as<BlockImpl>()->heads);
    auto real = ids.ne(0);
    x = x * real.unsqueeze(-1).to(x.dtype());
    // Causal mask plus padded keys: a position sees only real events at or before it, so a sequence scores the
    // same whatever padding its batch needs. Finite (not -inf) so fully padded rows stay defined.
    auto mask = torch::full({T, T}, -1e9f, x.options()).triu(1).view({1, 1, T, T}) +
                (~real).to(x.dtype()).mul(-1e9f).view({-1, 1, 1, T});
    for (const auto& b : *blocks) x = b->as<Block>()->forward(x, mask, cos, sin);
    return ln(x);
  }
  // Logits over items 1..N for hidden states h (..., C): (..., N).
  torch::Tensor Logits(const torch::Tensor& h) { return Logits(h, Table()); }
  torch::Tensor Logits(const torch::Tensor& h, const torch::Tensor& table) {
    return torch::matmul(h, table.slice(0, 1).t());
  }
  // Keyword loss: cross-entropy of the keyword softmax against the uniform distribution over the next item's
  // keywords (items without keywords are skipped). h: (M, C); target: (M) item ids + 1.
  torch::Tensor KeywordLoss(const torch::Tensor& h, const torch::Tensor& target) {
    auto kw = item_kw.index_select(0, target);  // (M, S)
    auto has = kw.ge(0);
    auto count = has.sum(1);
    auto rows = count.gt(0);
    if (!rows.any().item<bool>()) return torch::zeros({}, h.options());
    auto logp = torch::log_softmax(keyword(h.index({rows})), -1);  // (M', K)
    auto k = kw.index({rows}), hk = has.index({rows});
    auto picked = logp.gather(1, k.clamp_min(0)) * hk.to(logp.dtype());
    return -(picked.sum(1) / count.index({rows}).to(logp.dtype())).mean();
  }

  int64_t n_items = 0, n_queries = 0;
  NetShape shape;
  torch::nn::Embedding item{nullptr}, sub{nullptr}, act{nullptr}, gap{nullptr};
  torch::nn::Linear interest{nullptr}, keyword{nullptr};
  torch::Tensor piece_ids, piece_offsets, qpiece_ids, qpiece_offsets, item_cat, item_kw;
  torch::nn::Dropout drop{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln{nullptr};
};
TORCH_MODULE(Net);

// Left-padded window of the last `len` tokens (+1 ids). With `items_only` (targets), search tokens (>= `items`)
// become padding: the model is trained to predict items only.
void Window(std::span<const uint32_t> seq, int len, int64_t* out, uint32_t items = UINT32_MAX, bool items_only = false) {
  std::fill(out, out + len, 0);
  size_t n = std::min<size_t>(seq.size(), static_cast<size_t>(len));
  for (size_t k = 0; k < n; ++k) {
    uint32_t t = seq[seq.size() - n + k];
    out[len - n + k] = items_only && t >= items ? 0 : static_cast<int64_t>(t) + 1;
  }
}

// Left-padded window of side bytes aligned with Window over a sequence of `seq_len` tokens (missing = unknown).
void SideWindow(std::span<const uint8_t> side, size_t seq_len, int len, int64_t* out) {
  std::fill(out, out + len, 0);
  size_t n = std::min<size_t>(seq_len, static_cast<size_t>(len));
  for (size_t k = 0; k < n; ++k) {
    size_t i = seq_len - n + k;
    out[len - n + k] = i < side.size() ? side[i] : 0;
  }
}

// One (1, L) input of tokens and side bytes for inference; L = min(len, max_len) and at least 1.
std::pair<torch::Tensor, torch::Tensor> InputTensors(SeqInput in, int max_len) {
  int L = static_cast<int>(std::clamp<size_t>(in.tokens.size(), 1, static_cast<size_t>(max_len)));
  std::vector<int64_t> ids(L), side(L);
  Window(in.tokens, L, ids.data());
  SideWindow(in.side, in.tokens.size(), L, side.data());
  return {torch::from_blob(ids.data(), {1, L}, torch::kLong).clone(),
          torch::from_blob(side.data(), {1, L}, torch::kLong).clone()};
}

// Mean cross-entropy of next-item prediction over the non-padded positions of a batch. x, y: (B, T) ids + 1.
torch::Tensor BatchLoss(Net& net, const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& side = {}) {
  auto yf = y.reshape({-1});
  auto valid = yf.ne(0);
  auto table = net->Table();
  auto h = net->forward(x, table, side).reshape({yf.size(0), -1}).index({valid});
  return torch::nn::functional::cross_entropy(net->Logits(h, table), yf.index({valid}) - 1);
}

using Clock = std::chrono::steady_clock;
double Sec(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double LrAt(const SeqModelConfig& cfg, int64_t step, int64_t total) {
  // Warm-up takes at most a tenth of the run (small data has few steps per epoch).
  const int64_t warm = std::max<int64_t>(1, std::min<int64_t>(cfg.warmup_steps, total / 10));
  if (step < warm) return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
  double p = static_cast<double>(step - warm) / static_cast<double>(std::max<int64_t>(1, total - warm));
  return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::min(1.0, p))));  // cosine to 10%
}

}  // namespace

struct SeqModel::Impl {
  SeqModelConfig cfg;
  size_t num_items = 0;
  NetShape shape;
  std::vector<std::string> keyword_names;
  Net net{nullptr};
};

SeqModel::SeqModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SeqModel::~SeqModel() = default;
SeqModel::SeqModel(SeqModel&&) noexcept = default;
SeqModel& SeqModel::operator=(SeqModel&&) noexcept = default;
const SeqModelConfig& SeqModel::config() const { return impl_->cfg; }
size_t SeqModel::num_items() const { return impl_->num_items; }
bool SeqModel::has_text() const { return impl_->shape.vocab > 0; }
int SeqModel::num_categories() const { return static_cast<int>(impl_->shape.categories); }
uint32_t SeqModel::num_queries() const { return static_cast<uint32_t>(impl_->net->n_queries); }
const std::vector<std::string>& SeqModel::keyword_names() const { return impl_->keyword_names; }

std::vector<float> SeqModel::PredictInterest(SeqInput history) const {
  if (!impl_->net->interest || history.tokens.empty()) return {};
  torch::NoGradGuard g;
  impl_->net->eval();
  auto [t, side] = InputTensors(history, impl_->cfg.max_len);
  auto h = impl_->net->forward(t, side).select(1, t.size(1) - 1);
  auto p = torch::softmax(impl_->net->interest(h), -1).squeeze(0).contiguous();
  return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
}

std::vector<float> SeqModel::PredictKeywords(SeqInput history) const {
  if (!impl_->net->keyword || history.tokens.empty()) return {};
  torch::NoGradGuard g;
  impl_->net->eval();
  auto [t, side] = InputTensors(history, impl_->cfg.max_len);
  auto h = impl_->net->forward(t, side).select(1, t.size(1) - 1);
  auto p = torch::softmax(impl_->net->keyword(h), -1).squeeze(0).contiguous();
  return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
}

SeqWeights SeqModel::Export() const {
  torch::NoGradGuard g;
  SeqWeights w;
  w.dim = impl_->cfg.dim;
  w.layers = impl_->cfg.layers;
  w.heads = impl_->cfg.heads;
  w.max_len = impl_->cfg.max_len;
  w.num_items = impl_->num_items;
  auto vec = [](const torch::Tensor& t) {
    auto c = t.contiguous().to(torch::kFloat);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  w.table = vec(impl_->net->Table());
  for (const auto& b : *impl_->net->blocks) {
    auto* blk = b->as<Block>();
    w.blocks.push_back({vec(blk->ln1->weight), vec(blk->ln1->bias), vec(blk->qkv->weight), vec(blk->qkv->bias),
                        vec(blk->proj->weight), vec(blk->proj->bias), vec(blk->ln2->weight), vec(blk->ln2->bias),
                        vec(blk->fc1->weight), vec(blk->fc1->bias), vec(blk->fc2->weight), vec(blk->fc2->bias)});
  }
  w.lnf_g = vec(impl_->net->ln->weight);
  w.lnf_b = vec(impl_->net->ln->bias);
  Net& net = impl_->net;
  if (net->interest) {
    w.interest_w = vec(net->interest->weight);
    w.interest_b = vec(net->interest->bias);
    w.num_categories = static_cast<int>(impl_->shape.categories);
  }
  if (net->keyword) {
    w.keyword_w = vec(net->keyword->weight);
    w.keyword_b = vec(net->keyword->bias);
    w.num_keywords = static_cast<int>(impl_->shape.keywords);
  }
  if (net->sub) {
    w.sub = vec(net->sub->weight);
    w.vocab = static_cast<int>(net->sub->weight.size(0));
  }
  if (net->n_queries > 0) {
    w.query_table = vec(net->QueryTable());
    w.num_queries = static_cast<uint32_t>(net->n_queries);
  }
  if (net->act) {
    w.act = vec(net->act->weight);
    w.gap = vec(net->gap->weight);
  }
  return w;
}

int GapBucket(int64_t s) {
  static constexpr int64_t kBounds[] = {10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400};
  if (s < 0) return 0;
  int b = 1;
  for (int64_t bound : kBounds) {
    if (s < bound) return b;
    ++b;
  }
  return b;  // 9
}

SeqSplit MakeSeqSplit(const Dataset& ds, bool searches) {
  // Item events as in Dataset::UserItemSequences (the evaluator's sequences); searches between them when asked.
  const size_t U = ds.num_users();
  const auto N = static_cast<uint32_t>(ds.num_items());
  std::vector<std::vector<uint32_t>> tok(U);
  std::vector<std::vector<uint8_t>> side(U);
  std::vector<std::vector<uint32_t>> item_pos(U);  // positions of item tokens
  std::vector<Timestamp> last(U, 0);
  std::vector<uint8_t> seen(U, 0);
  bool any_side = false;
  // The action says something only when the data has more than one.
  bool vary_actions = false;
  for (size_t k = 1; k < ds.events.size() && !vary_actions; ++k) vary_actions = ds.events[k].action != ds.events[0].action;
  for (const Event& e : ds.events) {
    uint32_t t;
    if (e.item.valid()) {
      if (ds.actions.spec(e.action).weight < 0) continue;
      t = e.item.v;
    } else if (searches && e.query != kNoQuery) {
      t = N + e.query;
    } else {
      continue;
    }
    const uint32_t u = e.user.v;
    int gap = ds.has_timestamps && seen[u] ? GapBucket(e.ts - last[u]) : 0;
    uint8_t sd = PackSide(vary_actions ? ActionSlot(e.action) : 0, gap);
    any_side |= sd != 0;
    if (t < N) item_pos[u].push_back(static_cast<uint32_t>(tok[u].size()));
    tok[u].push_back(t);
    side[u].push_back(sd);
    last[u] = e.ts;
    seen[u] = 1;
  }
  SeqSplit s;
  s.train.resize(U);
  s.side.resize(U);
  s.val_target.assign(U, UINT32_MAX);
  s.test_target.assign(U, UINT32_MAX);
  s.val_side.assign(U, 0);
  if (searches) s.num_queries = static_cast<uint32_t>(ds.queries.size());
  for (size_t u = 0; u < U; ++u) {
    const auto& ip = item_pos[u];
    size_t keep = tok[u].size();
    if (ip.size() >= 3) {
      size_t vp = ip[ip.size() - 2];
      s.val_target[u] = tok[u][vp];
      s.val_side[u] = side[u][vp];
      s.test_target[u] = tok[u][ip.back()];
      keep = vp;
    } else {
      // Too short to split: every item stays for training; trailing searches say nothing to learn from.
      keep = ip.empty() ? 0 : ip.back() + 1;
    }
    s.train[u].assign(tok[u].begin(), tok[u].begin() + static_cast<std::ptrdiff_t>(keep));
    if (any_side) s.side[u].assign(side[u].begin(), side[u].begin() + static_cast<std::ptrdiff_t>(keep));
  }
  return s;
}

void SeqModel::Score(SeqInput history, std::vector<float>& out, int* attended) const {
  torch::NoGradGuard g;
  impl_->net->eval();
  auto& blocks = *impl_->net->blocks;
  auto* last = blocks[blocks.size() - 1]->as<Block>();
  last->keep_attention = attended != nullptr;
  auto [t, side] = InputTensors(history, impl_->cfg.max_len);
  int L = static_cast<int>(t.size(1));
  auto h = impl_->net->forward(t, side).select(1, L - 1);  // (1, C)
  auto logits = impl_->net->Logits(h).squeeze(0).contiguous();
  out.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  if (attended) {
    // Attention of the newest position over the window, averaged over heads; window slot j holds history item
    // history.size() - L + j.
    auto w = last->last_attention.select(2, L - 1).mean(1).squeeze(0);  // (T)
    int64_t j = w.argmax().item<int64_t>();
    *attended = static_cast<int>(history.tokens.size()) - L + static_cast<int>(j);
    last->keep_attention = false;
  }
}

namespace {

// Validation NDCG@10 / HR@10 (full ranking, earlier items excluded) on a seeded sample of users.
std::pair<double, double> Validate(Net& net, const SeqSplit& split, const SeqModelConfig& cfg,
                                   const std::vector<uint32_t>& users) {
  torch::NoGradGuard g;
  net->eval();
  double ndcg = 0, hr = 0;
  int L = cfg.max_len;
  for (size_t a = 0; a < users.size(); a += 256) {
    size_t b = std::min(users.size(), a + 256);
    size_t longest = 1;
    for (size_t k = a; k < b; ++k) longest = std::max(longest, split.train[users[k]].size());
    L = static_cast<int>(std::min<size_t>(longest, static_cast<size_t>(cfg.max_len)));
    std::vector<int64_t> ids((b - a) * L), sides((b - a) * L);
    for (size_t k = a; k < b; ++k) {
      const auto& q = split.train[users[k]];
      Window(q, L, ids.data() + (k - a) * L);
      SideWindow(users[k] < split.side.size() ? std::span<const uint8_t>(split.side[users[k]]) : std::span<const uint8_t>{},
                 q.size(), L, sides.data() + (k - a) * L);
    }
    auto t = torch::from_blob(ids.data(), {static_cast<int64_t>(b - a), L}, torch::kLong).clone();
    auto sd = torch::from_blob(sides.data(), {static_cast<int64_t>(b - a), L}, torch::kLong).clone();
    auto logits = net->Logits(net->forward(t, sd).select(1, L - 1)).contiguous();  // (b-a, N)
    auto acc = logits.accessor<float, 2>();
    for (size_t k = a; k < b; ++k) {
      uint32_t u = users[k];
      auto row = acc[static_cast<int64_t>(k - a)];
      float ts = row[split.val_target[u]];
      std::vector<uint8_t> seen(static_cast<size_t>(logits.size(1)), 0);
      for (uint32_t i : split.train[u])
        if (i < seen.size()) seen[i] = 1;  // searches are not items
      seen[split.val_target[u]] = 0;
      double rank = 1;
      for (int64_t i = 0; i < logits.size(1); ++i)
        if (!seen[i] && i != split.val_target[u]) rank += row[i] > ts ? 1.0 : row[i] == ts ? 0.5 : 0.0;
      if (rank <= 10) {
        hr += 1;
        ndcg += 1.0 / std::log2(rank + 1);
      }
    }
  }
  return {ndcg / std::max<size_t>(1, users.size()), hr / std::max<size_t>(1, users.size())};
}

}  // namespace

Result<SeqModel> SeqModel::Train(const SeqSplit& split, size_t num_items, const SeqModelConfig& cfg,
                                 std::vector<EpochLog>* log, bool progress, const ItemText* text,
                                 const ItemCategories* cats, const ItemKeywords* keywords) {
  try {
    torch::manual_seed(cfg.seed);
    torch::set_num_threads(cfg.threads);
    auto impl = std::make_unique<Impl>();
    impl->cfg = cfg;
    impl->num_items = num_items;
    if (text && text->vocab_size <= 0) text = nullptr;
    if (cats && cats->num_categories <= 0) cats = nullptr;
    if (keywords && (keywords->names.empty() || cfg.keyword_weight <= 0)) keywords = nullptr;
    // Search tokens need the query text; anything beyond the known tokens is a caller error.
    const uint64_t known_tokens = num_items + (text ? text->query_pieces.size() : 0);
    for (const auto& q : split.train)
      for (uint32_t t : q)
        if (t >= known_tokens)
          return Status::InvalidArgument(fmt::format(
              "sequence model: token {} is neither an item (< {}) nor a query with text (< {})", t, num_items,
              known_tokens));
    NetShape shape;
    shape.items = static_cast<int64_t>(num_items);
    for (const auto& sd : split.side)
      for (uint8_t b : sd) shape.side |= b != 0;
    impl->net = Net(cfg, shape, text, cats, keywords);
    impl->shape = impl->net->shape;
    impl->shape.pieces = impl->net->piece_ids.defined() ? impl->net->piece_ids.numel() : 0;
    impl->shape.query_pieces = impl->net->qpiece_ids.defined() ? impl->net->qpiece_ids.numel() : 0;
    if (keywords) impl->keyword_names = keywords->names;
    Net& net = impl->net;
    torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay));

    std::vector<uint32_t> users, val_users;
    for (uint32_t u = 0; u < split.train.size(); ++u) {
      if (split.train[u].size() >= 2) users.push_back(u);
      if (split.val_target[u] != UINT32_MAX && !split.train[u].empty()) val_users.push_back(u);
    }
    if (users.empty()) return Status::InvalidArgument("sequence model: no user has two or more training items");
    std::mt19937_64 rng(cfg.seed);
    if (cfg.eval_users > 0 && val_users.size() > static_cast<size_t>(cfg.eval_users)) {
      std::shuffle(val_users.begin(), val_users.end(), rng);
      val_users.resize(cfg.eval_users);
    }
    // Items with no training event (new or held out) stay out of the loss: as never-positive negatives they would
    // only learn to score low. After training their id embedding is zero, so their text alone scores them.
    std::vector<uint8_t> trained(num_items, 0);
    for (const auto& q : split.train)
      for (uint32_t t : q)
        if (t < num_items) trained[t] = 1;
    std::vector<int64_t> untrained_ids;
    for (uint32_t i = 0; i < num_items; ++i)
      if (!trained[i]) untrained_ids.push_back(i);
    torch::Tensor untrained;  // (N) bool over items, undefined when every item has training events
    if (!untrained_ids.empty()) {
      untrained = torch::zeros({static_cast<int64_t>(num_items)}, torch::kBool);
      untrained.index_fill_(0, torch::tensor(untrained_ids, torch::kLong), true);
    }
    int64_t steps_per_epoch = (static_cast<int64_t>(users.size()) + cfg.batch - 1) / cfg.batch;
    int64_t total = steps_per_epoch * cfg.epochs, step = 0;
    double best = -1;
    int since_best = 0;
    std::stringstream best_state;
    auto t_start = std::chrono::steady_clock::now();
    int first_epoch = 1;
    bool stopped = false;
    const std::string& ck = cfg.checkpoint_dir;
    if (!ck.empty() && cfg.resume && !std::filesystem::exists(ck + "/state.json") &&
        std::filesystem::exists(ck + ".next/state.json"))
      std::filesystem::rename(ck + ".next", ck);  // the crash came between the two steps of a save
    if (!ck.empty() && cfg.resume && std::filesystem::exists(ck + "/state.json")) {
      // Resume: everything that decides the rest of the run comes back (weights, optimiser moments, both random
      // generators, the user order, early-stopping state), so the result equals an uninterrupted run.
      std::ifstream in(ck + "/state.json");
      nlohmann::json st = nlohmann::json::parse(in, nullptr, false);
      if (st.is_discarded() || st.value("version", 0) != kFormatVersion)
        return Status::InvalidArgument(ck + "/state.json: not a checkpoint of this version");
      first_epoch = st.at("epoch").get<int>() + 1;
      step = st.at("step").get<int64_t>();
      best = st.at("best").get<double>();
      since_best = st.at("since_best").get<int>();
      stopped = st.at("stopped").get<bool>();
      users = st.at("users").get<std::vector<uint32_t>>();
      std::istringstream rs(st.at("rng").get<std::string>());
      rs >> rng;
      torch::load(net, ck + "/net.pt");
      torch::load(opt, ck + "/optim.pt");
      torch::Tensor gen_state;
      torch::load(gen_state, ck + "/torch_rng.pt");
      {
        auto gen = at::globalContext().defaultGenerator(at::DeviceType::CPU);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(gen_state);
      }
      std::ifstream bf(ck + "/best.pt", std::ios::binary);
      best_state << bf.rdbuf();
      if (log)
        for (const auto& e : st.at("log")) {
          EpochLog l;
          l.epoch = e.at("epoch");
          l.loss = e.at("loss");
          l.val_ndcg10 = e.at("val_ndcg10");
          l.val_hr10 = e.at("val_hr10");
          l.seconds = e.at("seconds");
          l.tokens_per_s = e.at("tokens_per_s");
          l.lr = e.at("lr");
          log->push_back(l);
        }
      if (progress) std::fprintf(stderr, "resumed from %s after epoch %d\n", ck.c_str(), first_epoch - 1);
    }
    std::vector<EpochLog> all_log = log ? *log : std::vector<EpochLog>{};
    for (int epoch = first_epoch; epoch <= cfg.epochs && !stopped; ++epoch) {
      if (cfg.stop_after_epoch > 0 && epoch > cfg.stop_after_epoch) break;
      net->train();
      // Length bucketing: shuffle, sort within chunks of 50 batches by length, shuffle the batches. A batch is cut
      // to its longest sequence, which saves most of the padding (ML-1M: median 96 of max 200).
      std::shuffle(users.begin(), users.end(), rng);
      size_t chunk = static_cast<size_t>(cfg.batch) * 50;
      for (size_t a = 0; a < users.size(); a += chunk) {
        auto end = users.begin() + static_cast<std::ptrdiff_t>(std::min(users.size(), a + chunk));
        std::stable_sort(users.begin() + static_cast<std::ptrdiff_t>(a), end,
                         [&](uint32_t x, uint32_t y) { return split.train[x].size() < split.train[y].size(); });
      }
      std::vector<size_t> starts;
      for (size_t a = 0; a < users.size(); a += cfg.batch) starts.push_back(a);
      std::shuffle(starts.begin(), starts.end(), rng);
      auto t0 = std::chrono::steady_clock::now();
      double loss_sum = 0;
      int64_t tokens = 0, batches = 0;
      std::array<double, 5> prof{};  // batch assembly, trunk forward, head forward, backward, update
      for (size_t a : starts) {
        auto tb = Clock::now();
        size_t b = std::min(users.size(), a + cfg.batch);
        int64_t n = static_cast<int64_t>(b - a);
        size_t longest = 1;
        for (size_t k = a; k < b; ++k) longest = std::max(longest, split.train[users[k]].size() - 1);
        int L = static_cast<int>(std::min<size_t>(longest, static_cast<size_t>(cfg.max_len)));
        std::vector<int64_t> in(n * L), tgt(n * L), sides;
        const bool with_side = static_cast<bool>(net->act);
        if (with_side) sides.resize(n * L);
        std::bernoulli_distribution drop_side(cfg.side_dropout);
        for (size_t k = a; k < b; ++k) {
          const auto& s = split.train[users[k]];
          std::span<const uint32_t> whole(s);
          Window(whole.first(s.size() - 1), L, in.data() + (k - a) * L);   // inputs: all but the last
          Window(whole.subspan(1), L, tgt.data() + (k - a) * L, static_cast<uint32_t>(num_items), true);  // targets
          if (with_side) {
            int64_t* sw = sides.data() + (k - a) * L;
            SideWindow(split.side[users[k]], s.size() - 1, L, sw);
            // Some positions train with "unknown": serving rebuilt from a plain history knows no action or gap.
            for (int j = 0; j < L; ++j)
              if (sw[j] != 0 && drop_side(rng)) sw[j] = 0;
          }
        }
        auto x = torch::from_blob(in.data(), {n, L}, torch::kLong).clone();
        auto y = torch::from_blob(tgt.data(), {n, L}, torch::kLong).clone();
        torch::Tensor sd;
        if (with_side) sd = torch::from_blob(sides.data(), {n, L}, torch::kLong).clone();
        auto tp0 = Clock::now();
        // Same computation as BatchLoss, timed in parts (trunk, output head, backward, update).
        auto yf = y.reshape({-1});
        auto valid = yf.ne(0);
        // Id dropout: in this batch a share of the items is seen through its text alone (input and output), so
        // the text part learns to score on its own and items without interactions can compete.
        torch::Tensor id_keep;
        if (cfg.id_dropout > 0 && net->sub)
          id_keep = torch::rand({static_cast<int64_t>(num_items) + 1, 1}).ge(cfg.id_dropout).to(torch::kFloat);
        auto table = net->Table(id_keep);
        auto h = net->forward(x, table, sd).reshape({yf.size(0), -1}).index({valid});
        auto tp1 = Clock::now();
        auto target = yf.index({valid});  // ids + 1
        torch::Tensor loss;
        if (cfg.negatives > 0 && cfg.negatives < static_cast<int>(num_items)) {
          // Sampled softmax: K uniform negatives shared by the batch. Under uniform sampling the log-Q correction
          // is a constant and cancels; accidental hits (a negative equal to the target) are masked out.
          auto neg = torch::randint(1, static_cast<int64_t>(num_items) + 1, {cfg.negatives}, torch::kLong);
          auto pos_logit = (h * table.index_select(0, target)).sum(-1, /*keepdim=*/true);    // (N, 1)
          auto neg_logit = torch::matmul(h, table.index_select(0, neg).t());                   // (N, K)
          neg_logit = neg_logit.masked_fill(target.unsqueeze(1).eq(neg.unsqueeze(0)), -1e9f);
          if (untrained.defined()) neg_logit = neg_logit.masked_fill(untrained.index_select(0, neg - 1).unsqueeze(0), -1e9f);
          auto logits = torch::cat({pos_logit, neg_logit}, 1);
          loss = torch::nn::functional::cross_entropy(logits, torch::zeros({logits.size(0)}, torch::kLong));
        } else {
          auto logits = net->Logits(h, table);
          if (untrained.defined()) logits = logits.masked_fill(untrained.unsqueeze(0), -1e9f);
          loss = torch::nn::functional::cross_entropy(logits, target - 1);
        }
        if (net->interest && cfg.interest_weight > 0) {
          auto cat = net->item_cat.index_select(0, target);  // main category of each next item (-1: none)
          if (cat.ge(0).any().item<bool>())
            loss = loss + cfg.interest_weight *
                              torch::nn::functional::cross_entropy(
                                  net->interest(h), cat, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1));
        }
        if (net->keyword) loss = loss + cfg.keyword_weight * net->KeywordLoss(h, target);
        auto tp2 = Clock::now();
        double lr = LrAt(cfg, step, total);
        for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        opt.zero_grad();
        loss.backward();
        auto tp3 = Clock::now();
        torch::nn::utils::clip_grad_norm_(net->parameters(), cfg.clip);
        opt.step();
        auto tp4 = Clock::now();
        prof[0] += Sec(tp0 - tb);
        prof[1] += Sec(tp1 - tp0);
        prof[2] += Sec(tp2 - tp1);
        prof[3] += Sec(tp3 - tp2);
        prof[4] += Sec(tp4 - tp3);
        {
          torch::NoGradGuard g;
          net->item->weight[0].zero_();  // padding row stays zero (AdamW decay would move it)
        }
        loss_sum += loss.item<double>();
        tokens += y.ne(0).sum().item<int64_t>();
        ++batches;
        ++step;
      }
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      auto [ndcg, hr] = Validate(net, split, cfg, val_users);
      EpochLog e{epoch, loss_sum / std::max<int64_t>(1, batches), ndcg, hr, sec, tokens / std::max(1e-9, sec),
                 LrAt(cfg, step - 1, total)};
      e.profile = prof;
      if (log) log->push_back(e);
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      if (progress)
        std::fprintf(stderr, "epoch %3d/%d | loss %.4f | val ndcg@10 %.4f hr@10 %.4f | %.0f tokens/s | lr %.2e | %.1f s | ETA %s\n",
                     epoch, cfg.epochs, e.loss, ndcg, hr, e.tokens_per_s, e.lr, sec,
                     FormatDuration(elapsed / epoch * (cfg.epochs - epoch)).c_str());
      if (progress && cfg.profile)
        std::fprintf(stderr, "  time: batches %.1f s | trunk fwd %.1f s | head fwd %.1f s | backward %.1f s | update %.1f s\n",
                     prof[0], prof[1], prof[2], prof[3], prof[4]);
      all_log.push_back(e);
      if (val_users.empty()) {
        // Nothing to select on: the last epoch is the model.
        best_state.str("");
      } else if (ndcg > best) {
        best = ndcg;
        since_best = 0;
        best_state.str("");
        torch::save(net, best_state);
      } else if (++since_best >= cfg.patience) {
        if (progress) std::fprintf(stderr, "early stop: no validation gain for %d epochs\n", cfg.patience);
        stopped = true;
      }
      if (!ck.empty()) {
        // Everything goes to <ck>.next first, which then replaces <ck>: a crash at any point leaves one complete
        // checkpoint (resume also accepts a complete .next left behind).
        const std::string nx = ck + ".next";
        std::filesystem::remove_all(nx);
        std::filesystem::create_directories(nx);
        torch::save(net, nx + "/net.pt");
        torch::save(opt, nx + "/optim.pt");
        torch::Tensor gen_state;
        {
          auto gen = at::globalContext().defaultGenerator(at::DeviceType::CPU);
          std::lock_guard<std::mutex> lock(gen.mutex());
          gen_state = gen.get_state();
        }
        torch::save(gen_state, nx + "/torch_rng.pt");
        std::ofstream(nx + "/best.pt", std::ios::binary) << best_state.str();
        std::ostringstream rs;
        rs << rng;
        nlohmann::json st = {{"version", kFormatVersion}, {"epoch", epoch}, {"step", step}, {"best", best},
                             {"since_best", since_best}, {"stopped", stopped}, {"users", users}, {"rng", rs.str()}};
        st["log"] = nlohmann::json::array();
        for (const auto& l : all_log)
          st["log"].push_back({{"epoch", l.epoch}, {"loss", l.loss}, {"val_ndcg10", l.val_ndcg10},
                               {"val_hr10", l.val_hr10}, {"seconds", l.seconds}, {"tokens_per_s", l.tokens_per_s},
                               {"lr", l.lr}});
        std::ofstream(nx + "/state.json") << st.dump();
        std::filesystem::remove_all(ck);
        std::filesystem::rename(nx, ck);
      }
    }
    if (!best_state.str().empty()) torch::load(net, best_state);  // empty: keep the last epoch's weights
    if (!untrained_ids.empty()) {
      torch::NoGradGuard g;
      net->item->weight.index_fill_(0, torch::tensor(untrained_ids, torch::kLong) + 1, 0.0);
    }
    return SeqModel(std::move(impl));
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("sequence model training failed: ") + ex.what());
  }
}

Result<GradientCheckResult> CheckGradients(const SeqSplit& split, size_t num_items, const SeqModelConfig& cfg_in,
                                           int samples) {
  try {
    SeqModelConfig cfg = cfg_in;
    cfg.dropout = 0;  // deterministic forward
    torch::manual_seed(cfg.seed);
    NetShape shape;
    shape.items = static_cast<int64_t>(num_items);
    Net net(cfg, shape);
    net->to(torch::kDouble);
    net->train();
    int L = cfg.max_len;
    std::vector<int64_t> in, tgt;
    int64_t n = 0;
    for (const auto& s : split.train) {
      if (s.size() < 2) continue;
      in.resize((n + 1) * L);
      tgt.resize((n + 1) * L);
      std::span<const uint32_t> whole(s);
      Window(whole.first(s.size() - 1), L, in.data() + n * L);
      Window(whole.subspan(1), L, tgt.data() + n * L);
      ++n;
    }
    if (n == 0) return Status::InvalidArgument("gradient check: no sequence with two items");
    auto x = torch::from_blob(in.data(), {n, L}, torch::kLong).clone();
    auto y = torch::from_blob(tgt.data(), {n, L}, torch::kLong).clone();
    auto loss = BatchLoss(net, x, y);
    net->zero_grad();
    loss.backward();
    GradientCheckResult r;
    r.loss = loss.item<double>();
    std::mt19937_64 rng(cfg.seed);
    const double eps = 1e-6;
    auto params = net->named_parameters();
    for (int k = 0; k < samples; ++k) {
      auto& p = params[rng() % params.size()];
      auto flat = p.value().view({-1});
      int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(flat.numel()));
      if (p.key() == "item.weight" && i < cfg.dim) continue;  // padding row: no gradient by design
      double analytic = p.value().grad().view({-1})[i].item<double>();
      double numeric;
      {
        torch::NoGradGuard g;
        double orig = flat[i].item<double>();
        flat[i] = orig + eps;
        double up = BatchLoss(net, x, y).item<double>();
        flat[i] = orig - eps;
        double down = BatchLoss(net, x, y).item<double>();
        flat[i] = orig;
        numeric = (up - down) / (2 * eps);
      }
      double err = std::abs(analytic - numeric) / std::max(1e-6, std::abs(analytic) + std::abs(numeric));
      r.max_rel_error = std::max(r.max_rel_error, err);
      ++r.checked;
    }
    return r;
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("gradient check failed: ") + ex.what());
  }
}

Result<bool> CheckCausality(size_t num_items, const SeqModelConfig& cfg_in) {
  try {
    SeqModelConfig cfg = cfg_in;
    cfg.dropout = 0;
    torch::manual_seed(cfg.seed);
    NetShape shape;
    shape.items = static_cast<int64_t>(num_items);
    Net net(cfg, shape);
    net->eval();
    torch::NoGradGuard g;
    int L = cfg.max_len;
    auto a = torch::randint(1, static_cast<int64_t>(num_items) + 1, {1, L}, torch::kLong);
    auto b = a.clone();
    b[0][L - 1] = (a[0][L - 1].item<int64_t>() % static_cast<int64_t>(num_items)) + 1;  // change only the newest
    auto ha = net->forward(a), hb = net->forward(b);
    bool past_same = torch::allclose(ha.slice(1, 0, L - 1), hb.slice(1, 0, L - 1), 1e-6, 1e-6);
    bool last_differs = !torch::allclose(ha.select(1, L - 1), hb.select(1, L - 1), 1e-6, 1e-6);
    return past_same && last_differs;
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("causality check failed: ") + ex.what());
  }
}

Status SeqModel::Save(const std::string& dir) const {
  try {
    std::filesystem::create_directories(dir);
    const NetShape& sh = impl_->shape;
    nlohmann::json j = {{"format", "vane-seq-model"}, {"version", kFormatVersion},
                        {"num_items", impl_->num_items}, {"dim", impl_->cfg.dim},
                        {"layers", impl_->cfg.layers},   {"heads", impl_->cfg.heads},
                        {"max_len", impl_->cfg.max_len}, {"dropout", impl_->cfg.dropout},
                        {"text_vocab", sh.vocab},        {"text_pieces", sh.pieces},
                        {"num_categories", sh.categories}, {"num_queries", sh.queries},
                        {"query_pieces", sh.query_pieces}, {"num_keywords", sh.keywords},
                        {"keyword_slots", sh.keyword_slots}, {"side", sh.side},
                        {"keywords", impl_->keyword_names}};
    std::ofstream(dir + "/model.json") << j.dump(2) << "\n";
    torch::save(impl_->net, dir + "/weights.pt");
    return Status::Ok();
  } catch (const std::exception& ex) {
    return Status::IoError("saving model to " + dir + ": " + ex.what());
  }
}

Result<SeqModel> SeqModel::Load(const std::string& dir) {
  std::ifstream in(dir + "/model.json");
  if (!in) return Status::NotFound("no model at " + dir + " (model.json missing)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || j.value("format", "") != "vane-seq-model")
    return Status::InvalidArgument(dir + "/model.json: not a vane sequence model");
  if (j.value("version", 0) != kFormatVersion)
    return Status::InvalidArgument(fmt::format("{}/model.json: format version {} (this build reads {})", dir,
                                               j.value("version", 0), kFormatVersion));
  try {
    auto impl = std::make_unique<Impl>();
    impl->num_items = j.at("num_items").get<size_t>();
    impl->cfg.dim = j.at("dim").get<int>();
    impl->cfg.layers = j.at("layers").get<int>();
    impl->cfg.heads = j.at("heads").get<int>();
    impl->cfg.max_len = j.at("max_len").get<int>();
    impl->cfg.dropout = j.at("dropout").get<float>();
    NetShape& sh = impl->shape;
    sh.items = static_cast<int64_t>(impl->num_items);
    sh.vocab = j.value("text_vocab", int64_t{0});
    sh.pieces = j.value("text_pieces", int64_t{0});
    sh.categories = j.value("num_categories", int64_t{0});
    sh.queries = j.value("num_queries", int64_t{0});
    sh.query_pieces = j.value("query_pieces", int64_t{0});
    sh.keywords = j.value("num_keywords", int64_t{0});
    sh.keyword_slots = j.value("keyword_slots", int64_t{0});
    sh.side = j.value("side", false);
    impl->keyword_names = j.value("keywords", std::vector<std::string>{});
    impl->net = Net(impl->cfg, sh);
    torch::load(impl->net, dir + "/weights.pt");
    return SeqModel(std::move(impl));
  } catch (const std::exception& ex) {
    return Status::InvalidArgument("loading model from " + dir + ": " + ex.what());
  }
}

}  // namespace vane
