// Shapes: B = batch, T = positions (max_len), C = width, H = heads, N = catalogue size (+1 for padding id 0).
#include "vane/model/seq_model.h"

#include <ATen/autocast_mode.h>
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

#include "vane/core/heap.h"
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
    auto logp = torch::log_softmax(keyword(h.index({rows})).to(torch::kFloat), -1);  // (M', K)
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

// CPU autocast to bfloat16 for the life of the guard (a no-op when `on` is false).
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool on) : on_(on) {
    if (!on_) return;
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  ~Bf16Autocast() {
    if (!on_) return;
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
    at::autocast::clear_cache();
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool on_, prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

using Clock = std::chrono::steady_clock;
double Sec(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// What the training objective adds to the plain next-item cross-entropy over the whole catalogue.
struct LossTerms {
  int negatives = 0;          // 0 < K < N: sampled softmax with K uniform negatives shared by the batch
  torch::Tensor untrained;    // (N) bool: items without a training event, kept out of the softmax; undefined: none
  float id_dropout = 0;       // share of the items this batch sees through their text alone (input and output)
  float interest_weight = 0;  // weight of the interest head's cross-entropy (when the net has that head)
  float keyword_weight = 0;   // weight of the keyword head's loss (when the net has that head)
};

// Next-item cross-entropy of hidden states h (M, C) against targets (M, ids + 1) over the item table.
torch::Tensor NextItemLoss(Net& net, const torch::Tensor& h, const torch::Tensor& table, const torch::Tensor& target,
                           const LossTerms& terms) {
  const int64_t n_items = net->n_items;
  if (terms.negatives > 0 && terms.negatives < n_items) {
    // Sampled softmax: K uniform negatives shared by the batch. Under uniform sampling the log-Q correction is a
    // constant and cancels; accidental hits (a negative equal to the target) are masked out.
    auto neg = torch::randint(1, n_items + 1, {terms.negatives}, torch::kLong);
    auto pos_logit = (h * table.index_select(0, target)).sum(-1, /*keepdim=*/true);    // (M, 1)
    auto neg_logit = torch::matmul(h, table.index_select(0, neg).t());                   // (M, K)
    neg_logit = neg_logit.masked_fill(target.unsqueeze(1).eq(neg.unsqueeze(0)), -1e9f);
    if (terms.untrained.defined())
      neg_logit = neg_logit.masked_fill(terms.untrained.index_select(0, neg - 1).unsqueeze(0), -1e9f);
    auto logits = torch::cat({pos_logit, neg_logit}, 1).to(torch::kFloat);
    return torch::nn::functional::cross_entropy(logits, torch::zeros({logits.size(0)}, torch::kLong));
  }
  auto logits = net->Logits(h, table).to(torch::kFloat);  // the softmax in float32 also under bf16 autocast
  if (terms.untrained.defined()) logits = logits.masked_fill(terms.untrained.unsqueeze(0), -1e9f);
  return torch::nn::functional::cross_entropy(logits, target - 1);
}

// The training loss of a batch: mean next-item cross-entropy over the non-padded targets, plus the weighted
// interest and keyword terms. x, y: (B, T) ids + 1 (0 = padding); side: (B, T) packed side bytes, or undefined.
// `trunk_done`, when given, receives the time the trunk's forward pass ended (the profile splits the step there).
torch::Tensor BatchLoss(Net& net, const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& side,
                        const LossTerms& terms, Clock::time_point* trunk_done = nullptr) {
  auto yf = y.reshape({-1});
  auto valid = yf.ne(0);
  torch::Tensor id_keep;  // (N+1, 1): 0 for the items seen through their text alone in this batch
  if (terms.id_dropout > 0 && net->sub)
    id_keep = torch::rand({net->n_items + 1, 1}).ge(terms.id_dropout).to(torch::kFloat);
  auto table = net->Table(id_keep);
  auto h = net->forward(x, table, side).reshape({yf.size(0), -1}).index({valid});
  if (trunk_done) *trunk_done = Clock::now();

  auto target = yf.index({valid});  // ids + 1
  torch::Tensor loss = NextItemLoss(net, h, table, target, terms);
  if (net->interest && terms.interest_weight > 0) {
    auto cat = net->item_cat.index_select(0, target);  // main category of each next item (-1: none)
    if (cat.ge(0).any().item<bool>())
      loss = loss + terms.interest_weight *
                        torch::nn::functional::cross_entropy(
                            net->interest(h).to(torch::kFloat), cat, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1));
  }
  if (net->keyword) loss = loss + terms.keyword_weight * net->KeywordLoss(h, target);
  return loss;
}

// One batch of training sequences: (n, L) inputs and targets (ids + 1, 0 = padding) and side bytes (undefined
// when the net has no side embeddings).
struct Batch {
  torch::Tensor x, y, side;
};

// The batch of `users` (each with two or more training tokens): each sequence but its last token as input, shifted
// by one as target (searches are no targets), cut to the longest sequence (at most max_len). With `drop_side`,
// each known side byte becomes unknown with its probability (drawn from `rng`).
Batch MakeBatch(const SeqSplit& split, std::span<const uint32_t> users, int max_len, size_t num_items, bool with_side,
                std::bernoulli_distribution* drop_side = nullptr, std::mt19937_64* rng = nullptr) {
  const int64_t n = static_cast<int64_t>(users.size());
  size_t longest = 1;
  for (uint32_t u : users) longest = std::max(longest, split.train[u].size() - 1);
  const int L = static_cast<int>(std::min<size_t>(longest, static_cast<size_t>(max_len)));
  std::vector<int64_t> in(n * L), tgt(n * L), sides;
  if (with_side) sides.resize(n * L);
  for (int64_t k = 0; k < n; ++k) {
    const auto& s = split.train[users[k]];
    std::span<const uint32_t> whole(s);
    Window(whole.first(s.size() - 1), L, in.data() + k * L);                                        // inputs
    Window(whole.subspan(1), L, tgt.data() + k * L, static_cast<uint32_t>(num_items), true);        // targets
    if (with_side) {
      int64_t* sw = sides.data() + k * L;
      SideWindow(split.side[users[k]], s.size() - 1, L, sw);
      // Some positions train with "unknown": serving rebuilt from a plain history knows no action or gap.
      if (drop_side)
        for (int j = 0; j < L; ++j)
          if (sw[j] != 0 && (*drop_side)(*rng)) sw[j] = 0;
    }
  }
  Batch b;
  b.x = torch::from_blob(in.data(), {n, L}, torch::kLong).clone();
  b.y = torch::from_blob(tgt.data(), {n, L}, torch::kLong).clone();
  if (with_side) b.side = torch::from_blob(sides.data(), {n, L}, torch::kLong).clone();
  return b;
}

// (N) bool over items: true for the items without a training event; undefined when every item has one.
torch::Tensor UntrainedMask(const std::vector<int64_t>& untrained_ids, size_t num_items) {
  if (untrained_ids.empty()) return {};
  auto mask = torch::zeros({static_cast<int64_t>(num_items)}, torch::kBool);
  mask.index_fill_(0, torch::tensor(untrained_ids, torch::kLong), true);
  return mask;
}

// Items with no training event (new or held out) stay out of the loss: as never-positive negatives they would
// only learn to score low. After training their id embedding is zero, so their text alone scores them.
std::vector<int64_t> UntrainedItems(const SeqSplit& split, size_t num_items) {
  std::vector<uint8_t> trained(num_items, 0);
  for (const auto& q : split.train)
    for (uint32_t t : q)
      if (t < num_items) trained[t] = 1;
  std::vector<int64_t> ids;
  for (uint32_t i = 0; i < num_items; ++i)
    if (!trained[i]) ids.push_back(i);
  return ids;
}

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

std::vector<uint8_t> SeqModel::TextOnlyItems() const {
  torch::NoGradGuard g;
  auto zero = impl_->net->item->weight.slice(0, 1).abs().sum(1).eq(0).to(torch::kUInt8).contiguous();
  return std::vector<uint8_t>(zero.data_ptr<uint8_t>(), zero.data_ptr<uint8_t>() + zero.numel());
}

std::vector<float> SeqModel::Hidden(SeqInput history) const {
  if (history.tokens.empty()) return {};
  torch::NoGradGuard g;
  impl_->net->eval();
  auto [t, side] = InputTensors(history, impl_->cfg.max_len);
  auto h = impl_->net->forward(t, side).squeeze(0).contiguous();  // (L, C)
  return std::vector<float>(h.data_ptr<float>(), h.data_ptr<float>() + h.numel());
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
  // Item events as in Dataset::UserItemSequences (the evaluator's sequences: time order, positive effective weight);
  // searches between them when asked.
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
  for (uint32_t idx : ds.TimeOrder()) {  // the evaluator's order: a file sorted by item is not a sequence
    const Event& e = ds.events[idx];
    uint32_t t;
    if (e.item.valid()) {
      if (!ds.IsPositiveItemEvent(e)) continue;
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

// Copies a checkpoint's epoch log entry back into an EpochLog.
EpochLog EpochLogFromJson(const nlohmann::json& e) {
  EpochLog l;
  l.epoch = e.at("epoch");
  l.loss = e.at("loss");
  l.val_ndcg10 = e.at("val_ndcg10");
  l.val_hr10 = e.at("val_hr10");
  l.seconds = e.at("seconds");
  l.tokens_per_s = e.at("tokens_per_s");
  l.lr = e.at("lr");
  return l;
}

nlohmann::json EpochLogToJson(const EpochLog& l) {
  return {{"epoch", l.epoch}, {"loss", l.loss}, {"val_ndcg10", l.val_ndcg10}, {"val_hr10", l.val_hr10},
          {"seconds", l.seconds}, {"tokens_per_s", l.tokens_per_s}, {"lr", l.lr}};
}

// The state of torch's default CPU generator (dropout masks, sampled negatives, id dropout).
torch::Tensor TorchRngState() {
  auto gen = at::globalContext().defaultGenerator(at::DeviceType::CPU);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetTorchRngState(const torch::Tensor& state) {
  auto gen = at::globalContext().defaultGenerator(at::DeviceType::CPU);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// One training run of a constructed net: the epochs with their batches, validation, early stopping on validation
// NDCG@10 and checkpoints. Everything that decides the rest of a run lives here, so a checkpoint can restore it.
class Trainer {
 public:
  Trainer(const SeqSplit& split, size_t num_items, const SeqModelConfig& cfg, Net& net, std::vector<EpochLog>* log,
          bool progress)
      : split_(split), num_items_(num_items), cfg_(cfg), net_(net), log_(log), progress_(progress),
        opt_(net->parameters(), torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay)), rng_(cfg.seed) {}

  // Trains and leaves the selected epoch's weights in the net.
  Status Run() {
    VANE_RETURN_IF_ERROR(SelectUsers());
    untrained_ids_ = UntrainedItems(split_, num_items_);
    terms_ = LossTerms{cfg_.negatives, UntrainedMask(untrained_ids_, num_items_), cfg_.id_dropout,
                       cfg_.interest_weight, cfg_.keyword_weight};
    total_steps_ = (static_cast<int64_t>(users_.size()) + cfg_.batch - 1) / cfg_.batch * cfg_.epochs;
    t_start_ = Clock::now();
    all_log_.clear();
    VANE_RETURN_IF_ERROR(MaybeResume());  // refills all_log_ (and log_) with the epochs before the checkpoint
    for (int epoch = first_epoch_; epoch <= cfg_.epochs && !stopped_; ++epoch) {
      if (cfg_.stop_after_epoch > 0 && epoch > cfg_.stop_after_epoch) break;
      EpochLog e = RunEpoch(epoch);
      if (log_) log_->push_back(e);
      PrintEpoch(e);
      all_log_.push_back(e);
      SelectEpoch(e);
      if (!cfg_.checkpoint_dir.empty()) SaveCheckpoint(epoch);
    }
    Finish();
    return Status::Ok();
  }

 private:
  // Users trained on (two or more tokens) and validated on (a seeded sample of those with a validation target).
  Status SelectUsers() {
    for (uint32_t u = 0; u < split_.train.size(); ++u) {
      if (split_.train[u].size() >= 2) users_.push_back(u);
      if (split_.val_target[u] != UINT32_MAX && !split_.train[u].empty()) val_users_.push_back(u);
    }
    if (users_.empty()) return Status::InvalidArgument("sequence model: no user has two or more training items");
    if (cfg_.eval_users > 0 && val_users_.size() > static_cast<size_t>(cfg_.eval_users)) {
      std::shuffle(val_users_.begin(), val_users_.end(), rng_);
      val_users_.resize(cfg_.eval_users);
    }
    return Status::Ok();
  }

  // Length bucketing: shuffle, sort within chunks of 50 batches by length, shuffle the batches. A batch is cut to
  // its longest sequence, which saves most of the padding (ML-1M: median 96 of max 200). Returns the batch starts.
  std::vector<size_t> PlanBatches() {
    std::shuffle(users_.begin(), users_.end(), rng_);
    size_t chunk = static_cast<size_t>(cfg_.batch) * 50;
    for (size_t a = 0; a < users_.size(); a += chunk) {
      auto end = users_.begin() + static_cast<std::ptrdiff_t>(std::min(users_.size(), a + chunk));
      std::stable_sort(users_.begin() + static_cast<std::ptrdiff_t>(a), end,
                       [&](uint32_t x, uint32_t y) { return split_.train[x].size() < split_.train[y].size(); });
    }
    std::vector<size_t> starts;
    for (size_t a = 0; a < users_.size(); a += cfg_.batch) starts.push_back(a);
    std::shuffle(starts.begin(), starts.end(), rng_);
    return starts;
  }

  EpochLog RunEpoch(int epoch) {
    net_->train();
    std::vector<size_t> starts = PlanBatches();
    auto t0 = Clock::now();
    double loss_sum = 0;
    int64_t tokens = 0, batches = 0;
    std::array<double, 5> prof{};  // batch assembly, trunk forward, head forward, backward, update
    for (size_t a : starts) {
      size_t b = std::min(users_.size(), a + cfg_.batch);
      auto [loss, batch_tokens] = TrainStep(std::span<const uint32_t>(users_).subspan(a, b - a), prof);
      loss_sum += loss;
      tokens += batch_tokens;
      ++batches;
    }
    double sec = Sec(Clock::now() - t0);
    auto [ndcg, hr] = Validate(net_, split_, cfg_, val_users_);
    EpochLog e{epoch, loss_sum / std::max<int64_t>(1, batches), ndcg, hr, sec, tokens / std::max(1e-9, sec),
               LrAt(cfg_, step_ - 1, total_steps_)};
    e.profile = prof;
    return e;
  }

  // One optimiser step on a batch of users; returns the batch's loss and its number of target tokens, and adds the
  // time of each part of the step to `prof`.
  std::pair<double, int64_t> TrainStep(std::span<const uint32_t> batch_users, std::array<double, 5>& prof) {
    auto tb = Clock::now();
    std::bernoulli_distribution drop_side(cfg_.side_dropout);
    Batch batch = MakeBatch(split_, batch_users, cfg_.max_len, num_items_, static_cast<bool>(net_->act), &drop_side,
                            &rng_);
    auto tp0 = Clock::now(), tp1 = tp0;
    torch::Tensor loss;
    {
      Bf16Autocast autocast(cfg_.bf16);
      loss = BatchLoss(net_, batch.x, batch.y, batch.side, terms_, &tp1).to(torch::kFloat);
    }
    auto tp2 = Clock::now();
    double lr = LrAt(cfg_, step_, total_steps_);
    for (auto& group : opt_.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    opt_.zero_grad();
    loss.backward();
    auto tp3 = Clock::now();
    torch::nn::utils::clip_grad_norm_(net_->parameters(), cfg_.clip);
    opt_.step();
    auto tp4 = Clock::now();
    prof[0] += Sec(tp0 - tb);
    prof[1] += Sec(tp1 - tp0);
    prof[2] += Sec(tp2 - tp1);
    prof[3] += Sec(tp3 - tp2);
    prof[4] += Sec(tp4 - tp3);
    {
      torch::NoGradGuard g;
      net_->item->weight[0].zero_();  // padding row stays zero (AdamW decay would move it)
    }
    ++step_;
    return {loss.item<double>(), batch.y.ne(0).sum().item<int64_t>()};
  }

  void PrintEpoch(const EpochLog& e) const {
    if (!progress_) return;
    double elapsed = Sec(Clock::now() - t_start_);
    // A run told to stop after an epoch (a tune trial) ends there, whatever its schedule's length.
    const int last = cfg_.stop_after_epoch > 0 ? std::min(cfg_.epochs, cfg_.stop_after_epoch) : cfg_.epochs;
    std::fprintf(stderr, "epoch %3d/%d | loss %.4f | val ndcg@10 %.4f hr@10 %.4f | %.0f tokens/s | lr %.2e | %.1f s | ETA %s\n",
                 e.epoch, last, e.loss, e.val_ndcg10, e.val_hr10, e.tokens_per_s, e.lr, e.seconds,
                 FormatDuration(elapsed / e.epoch * std::max(0, last - e.epoch)).c_str());
    if (cfg_.profile)
      std::fprintf(stderr, "  time: batches %.1f s | trunk fwd %.1f s | head fwd %.1f s | backward %.1f s | update %.1f s\n",
                   e.profile[0], e.profile[1], e.profile[2], e.profile[3], e.profile[4]);
  }

  // The validation curve smoothed over the last cfg.smooth_epochs epochs up to entry k of the run's log.
  double Smoothed(size_t k) const {
    const size_t w = static_cast<size_t>(std::max(1, cfg_.smooth_epochs));
    const size_t a = k + 1 >= w ? k + 1 - w : 0;
    double s = 0;
    for (size_t j = a; j <= k; ++j) s += all_log_[j].val_ndcg10;
    return s / static_cast<double>(k + 1 - a);
  }

  // Early stopping. The weights kept are those of the best validation epoch. The run stops once the *smoothed*
  // curve (mean of the last smooth_epochs epochs) has not reached a new high for `patience` epochs: one noisy
  // epoch neither stops a run that is still improving nor ends it early (the validation estimate of a few thousand
  // users moves by about its own standard error from epoch to epoch). Both follow from the epoch log alone, so a
  // resumed run decides exactly as an uninterrupted one.
  void SelectEpoch(const EpochLog& e) {
    if (val_users_.empty()) {
      // Nothing to select on: the last epoch is the model.
      best_state_.str("");
      return;
    }
    if (e.val_ndcg10 > best_) {
      best_ = e.val_ndcg10;
      best_state_.str("");
      torch::save(net_, best_state_);
    }
    const size_t k = all_log_.size() - 1;  // this epoch's entry (Run appends it before calling)
    double best_smooth = -1;
    for (size_t j = 0; j < k; ++j) best_smooth = std::max(best_smooth, Smoothed(j));
    if (Smoothed(k) > best_smooth) {
      since_best_ = 0;
    } else if (++since_best_ >= cfg_.patience) {
      if (progress_)
        std::fprintf(stderr, "early stop: the validation curve (mean of %d epochs) has not risen for %d epochs\n",
                     std::max(1, cfg_.smooth_epochs), cfg_.patience);
      stopped_ = true;
    }
  }

  // Resume: everything that decides the rest of the run comes back (weights, optimiser moments, both random
  // generators, the user order, early-stopping state), so the result equals an uninterrupted run.
  Status MaybeResume() {
    const std::string& ck = cfg_.checkpoint_dir;
    if (ck.empty() || !cfg_.resume) return Status::Ok();
    if (!std::filesystem::exists(ck + "/state.json") && std::filesystem::exists(ck + ".next/state.json"))
      std::filesystem::rename(ck + ".next", ck);  // the crash came between the two steps of a save
    if (!std::filesystem::exists(ck + "/state.json")) return Status::Ok();
    std::ifstream in(ck + "/state.json");
    nlohmann::json st = nlohmann::json::parse(in, nullptr, false);
    if (st.is_discarded() || st.value("version", 0) != kFormatVersion)
      return Status::InvalidArgument(ck + "/state.json: not a checkpoint of this version");
    first_epoch_ = st.at("epoch").get<int>() + 1;
    step_ = st.at("step").get<int64_t>();
    best_ = st.at("best").get<double>();
    since_best_ = st.at("since_best").get<int>();
    stopped_ = st.at("stopped").get<bool>();
    users_ = st.at("users").get<std::vector<uint32_t>>();
    std::istringstream rs(st.at("rng").get<std::string>());
    rs >> rng_;
    torch::load(net_, ck + "/net.pt");
    torch::load(opt_, ck + "/optim.pt");
    torch::Tensor gen_state;
    torch::load(gen_state, ck + "/torch_rng.pt");
    SetTorchRngState(gen_state);
    std::ifstream bf(ck + "/best.pt", std::ios::binary);
    best_state_ << bf.rdbuf();
    for (const auto& e : st.at("log")) all_log_.push_back(EpochLogFromJson(e));
    if (log_) log_->insert(log_->end(), all_log_.begin(), all_log_.end());
    if (progress_) std::fprintf(stderr, "resumed from %s after epoch %d\n", ck.c_str(), first_epoch_ - 1);
    return Status::Ok();
  }

  // Everything goes to <ck>.next first, which then replaces <ck>: a crash at any point leaves one complete
  // checkpoint (resume also accepts a complete .next left behind).
  void SaveCheckpoint(int epoch) {
    const std::string& ck = cfg_.checkpoint_dir;
    const std::string nx = ck + ".next";
    std::filesystem::remove_all(nx);
    std::filesystem::create_directories(nx);
    torch::save(net_, nx + "/net.pt");
    torch::save(opt_, nx + "/optim.pt");
    torch::save(TorchRngState(), nx + "/torch_rng.pt");
    std::ofstream(nx + "/best.pt", std::ios::binary) << best_state_.str();
    std::ostringstream rs;
    rs << rng_;
    nlohmann::json st = {{"version", kFormatVersion}, {"epoch", epoch}, {"step", step_}, {"best", best_},
                         {"since_best", since_best_}, {"stopped", stopped_}, {"users", users_}, {"rng", rs.str()}};
    st["log"] = nlohmann::json::array();
    for (const auto& l : all_log_) st["log"].push_back(EpochLogToJson(l));
    std::ofstream(nx + "/state.json") << st.dump();
    std::filesystem::remove_all(ck);
    std::filesystem::rename(nx, ck);
  }

  // The selected weights back in the net (none selected: the last epoch's stay); untrained items' id embeddings
  // zeroed, so their text alone scores them.
  void Finish() {
    if (!best_state_.str().empty()) torch::load(net_, best_state_);
    if (!untrained_ids_.empty()) {
      torch::NoGradGuard g;
      net_->item->weight.index_fill_(0, torch::tensor(untrained_ids_, torch::kLong) + 1, 0.0);
    }
  }

  const SeqSplit& split_;
  const size_t num_items_;
  const SeqModelConfig& cfg_;
  Net& net_;
  std::vector<EpochLog>* log_;
  const bool progress_;
  torch::optim::AdamW opt_;
  std::mt19937_64 rng_;
  std::vector<uint32_t> users_, val_users_;
  std::vector<int64_t> untrained_ids_;
  LossTerms terms_;
  int64_t total_steps_ = 0, step_ = 0;
  double best_ = -1;
  int since_best_ = 0;
  std::stringstream best_state_;
  int first_epoch_ = 1;
  bool stopped_ = false;
  std::vector<EpochLog> all_log_;
  Clock::time_point t_start_;
};

// Drops side inputs that carry nothing (no vocabulary, no categories, no keywords or no keyword weight).
void DropEmptySideInputs(const SeqModelConfig& cfg, const ItemText*& text, const ItemCategories*& cats,
                         const ItemKeywords*& keywords) {
  if (text && text->vocab_size <= 0) text = nullptr;
  if (cats && cats->num_categories <= 0) cats = nullptr;
  if (keywords && (keywords->names.empty() || cfg.keyword_weight <= 0)) keywords = nullptr;
}

// Search tokens need the query text; anything beyond the known tokens is a caller error.
Status CheckTokens(const SeqSplit& split, size_t num_items, const ItemText* text) {
  const uint64_t known_tokens = num_items + (text ? text->query_pieces.size() : 0);
  for (const auto& q : split.train)
    for (uint32_t t : q)
      if (t >= known_tokens)
        return Status::InvalidArgument(fmt::format(
            "sequence model: token {} is neither an item (< {}) nor a query with text (< {})", t, num_items,
            known_tokens));
  return Status::Ok();
}

}  // namespace

Result<SeqModel> SeqModel::Train(const SeqSplit& split, size_t num_items, const SeqModelConfig& cfg,
                                 std::vector<EpochLog>* log, bool progress, const ItemText* text,
                                 const ItemCategories* cats, const ItemKeywords* keywords) {
  try {
    HeapKeeper keep;  // a step's tensors reuse the last step's memory instead of faulting fresh pages in
    torch::manual_seed(cfg.seed);
    torch::set_num_threads(cfg.threads);
    DropEmptySideInputs(cfg, text, cats, keywords);
    VANE_RETURN_IF_ERROR(CheckTokens(split, num_items, text));
    auto impl = std::make_unique<Impl>();
    impl->cfg = cfg;
    impl->num_items = num_items;
    NetShape shape;
    shape.items = static_cast<int64_t>(num_items);
    for (const auto& sd : split.side)
      for (uint8_t b : sd) shape.side |= b != 0;
    impl->net = Net(cfg, shape, text, cats, keywords);
    impl->shape = impl->net->shape;
    impl->shape.pieces = impl->net->piece_ids.defined() ? impl->net->piece_ids.numel() : 0;
    impl->shape.query_pieces = impl->net->qpiece_ids.defined() ? impl->net->qpiece_ids.numel() : 0;
    if (keywords) impl->keyword_names = keywords->names;
    Trainer trainer(split, num_items, cfg, impl->net, log, progress);
    VANE_RETURN_IF_ERROR(trainer.Run());
    return SeqModel(std::move(impl));
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("sequence model training failed: ") + ex.what());
  }
}

Result<double> SeqModel::TrainingLoss(const SeqSplit& split) const {
  try {
    torch::NoGradGuard g;
    Net& net = impl_->net;
    net->eval();
    std::vector<uint32_t> users;
    for (uint32_t u = 0; u < split.train.size(); ++u)
      if (split.train[u].size() >= 2) users.push_back(u);
    if (users.empty()) return Status::InvalidArgument("training loss: no user has two or more training items");
    const SeqModelConfig& cfg = impl_->cfg;
    LossTerms terms{0, UntrainedMask(UntrainedItems(split, impl_->num_items), impl_->num_items), 0,
                    cfg.interest_weight, cfg.keyword_weight};
    Batch batch = MakeBatch(split, users, cfg.max_len, impl_->num_items, static_cast<bool>(net->act));
    return BatchLoss(net, batch.x, batch.y, batch.side, terms).item<double>();
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("training loss failed: ") + ex.what());
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
