#include "vane/model/text_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>

#include "vane/core/binary_io.h"
#include "vane/core/heap.h"
#include "vane/core/progress.h"
#include "dot.h"

namespace vane {

namespace {

constexpr uint32_t kDecoderFormat = 0x54444331;  // "TDC1"

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// y (rows) = W (rows x cols) x + b
void MatVec(const float* w, const float* b, const float* x, int rows, int cols, float* y) {
  for (int r = 0; r < rows; ++r) y[r] = (b ? b[r] : 0.0f) + Dot(w + static_cast<size_t>(r) * cols, x, cols);
}

}  // namespace

void TextDecoder::UserGates(const float* u, std::vector<float>& ux, std::vector<float>& h0) const {
  // The user's part of the input gates is the same at every step: W_ih[:, emb:] u + b_ih.
  const int in = emb + in_dim;
  ux.assign(static_cast<size_t>(3 * hidden), 0.0f);
  for (int r = 0; r < 3 * hidden; ++r) {
    ux[r] = b_ih[r] + Dot(w_ih.data() + static_cast<size_t>(r) * in + emb, u, in_dim);
  }
  h0.resize(static_cast<size_t>(hidden));
  MatVec(init_w.data(), init_b.data(), u, hidden, in_dim, h0.data());
  for (float& v : h0) v = std::tanh(v);
}

void TextDecoder::Step(int prev, const float* ux, std::vector<float>& h, std::vector<float>& logits) const {
  const int H = hidden, in = emb + in_dim;
  thread_local std::vector<float> gi, gh;
  gi.resize(static_cast<size_t>(3 * H));
  gh.resize(static_cast<size_t>(3 * H));
  const float* e = emb_w.data() + static_cast<size_t>(prev) * emb;
  for (int r = 0; r < 3 * H; ++r) {
    gi[r] = ux[r] + Dot(w_ih.data() + static_cast<size_t>(r) * in, e, emb);
  }
  MatVec(w_hh.data(), b_hh.data(), h.data(), 3 * H, H, gh.data());
  for (int j = 0; j < H; ++j) {
    float r = Sigmoid(gi[j] + gh[j]);
    float z = Sigmoid(gi[H + j] + gh[H + j]);
    float n = std::tanh(gi[2 * H + j] + r * gh[2 * H + j]);
    h[j] = (1.0f - z) * n + z * h[j];
  }
  logits.resize(classes());
  MatVec(out_w.data(), out_b.data(), h.data(), static_cast<int>(classes()), H, logits.data());
}

std::vector<int> TextDecoder::Decode(const float* u, const DecodeOptions& opt) const {
  std::vector<int> out;
  if (pieces.empty()) return out;
  std::vector<float> ux, h, logits;
  UserGates(u, ux, h);
  std::vector<uint8_t> used(classes(), 0);
  int prev = static_cast<int>(classes());  // the start mark
  for (int t = 0; t < opt.max_pieces; ++t) {
    Step(prev, ux.data(), h, logits);
    int best = -1;
    for (int c = 0; c < static_cast<int>(classes()); ++c) {
      if (c == end_class() && t == 0) continue;  // write at least one piece
      if (c != end_class() && used[c]) continue;  // no word twice (word-initial pieces are marked used)
      if (best < 0 || logits[c] > logits[best]) best = c;
    }
    if (best < 0 || best == end_class()) break;
    if (word_start[best]) used[best] = 1;
    out.push_back(pieces[best]);
    prev = best;
  }
  return out;
}

std::vector<float> TextDecoder::LogProbs(const float* u, std::span<const int> cls) const {
  std::vector<float> out;
  std::vector<float> ux, h, logits;
  UserGates(u, ux, h);
  int prev = static_cast<int>(classes());
  for (size_t t = 0; t <= cls.size(); ++t) {
    Step(prev, ux.data(), h, logits);
    int want = t < cls.size() ? cls[t] : end_class();
    float mx = *std::max_element(logits.begin(), logits.end());
    double z = 0;
    for (float l : logits) z += std::exp(static_cast<double>(l - mx));
    out.push_back(static_cast<float>(logits[want] - mx - std::log(z)));
    prev = want;
  }
  return out;
}

Status TextDecoder::Validate() const {
  const size_t C = classes(), H = static_cast<size_t>(hidden), E = static_cast<size_t>(emb),
               I = static_cast<size_t>(in_dim);
  auto bad = [](const char* what) { return Status::InvalidArgument(std::string("text decoder: ") + what); };
  if (hidden <= 0 || emb <= 0 || in_dim <= 0 || hidden > 4096 || emb > 4096 || in_dim > 4096) return bad("bad sizes");
  if (pieces.empty()) return bad("no pieces");
  if (word_start.size() != pieces.size()) return bad("word_start size");
  for (int p : pieces)
    if (p < 0) return bad("negative piece id");
  if (emb_w.size() != (C + 1) * E) return bad("embedding size");
  if (init_w.size() != H * I || init_b.size() != H) return bad("init size");
  if (w_ih.size() != 3 * H * (E + I) || b_ih.size() != 3 * H) return bad("input gates size");
  if (w_hh.size() != 3 * H * H || b_hh.size() != 3 * H) return bad("hidden gates size");
  if (out_w.size() != C * H || out_b.size() != C) return bad("output size");
  for (const auto* v : {&emb_w, &init_w, &init_b, &w_ih, &b_ih, &w_hh, &b_hh, &out_w, &out_b})
    for (float x : *v)
      if (!std::isfinite(x)) return bad("non-finite weight");
  return Status::Ok();
}

Status TextDecoder::Save(const std::string& path) const {
  VANE_RETURN_IF_ERROR(Validate());
  auto r = WriteSnapshotFile(path, kDecoderFormat, [&](BinaryWriter& w) {
    w.Tag("text_decoder");
    w.U32(static_cast<uint32_t>(in_dim));
    w.U32(static_cast<uint32_t>(hidden));
    w.U32(static_cast<uint32_t>(emb));
    w.PodVec(pieces);
    w.PodVec(word_start);
    for (const auto* v : {&emb_w, &init_w, &init_b, &w_ih, &b_ih, &w_hh, &b_hh, &out_w, &out_b}) w.PodVec(*v);
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<TextDecoder> TextDecoder::Load(const std::string& path) {
  VANE_ASSIGN_OR_RETURN(std::string payload, ReadSnapshotFile(path, kDecoderFormat));
  BinaryReader r(payload);
  r.Expect("text_decoder");
  TextDecoder d;
  d.in_dim = static_cast<int>(r.U32());
  d.hidden = static_cast<int>(r.U32());
  d.emb = static_cast<int>(r.U32());
  r.PodVec(d.pieces);
  r.PodVec(d.word_start);
  for (auto* v : {&d.emb_w, &d.init_w, &d.init_b, &d.w_ih, &d.b_ih, &d.w_hh, &d.b_hh, &d.out_w, &d.out_b}) r.PodVec(*v);
  if (!r.ok()) return Status::InvalidArgument(path + ": " + r.status().message());
  if (!r.AtEnd()) return Status::InvalidArgument(path + ": trailing bytes after the decoder");
  if (Status s = d.Validate(); !s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return d;
}

// ---- training (libtorch) ----

namespace {

struct DecNetImpl : torch::nn::Module {
  DecNetImpl(int64_t classes, int64_t in_dim, int64_t emb, int64_t hid) {
    embed = register_module("embed", torch::nn::Embedding(classes + 1, emb));  // + the start mark
    init = register_module("init", torch::nn::Linear(in_dim, hid));
    gru = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(emb + in_dim, hid).batch_first(true)));
    out = register_module("out", torch::nn::Linear(hid, classes));
    torch::nn::init::normal_(embed->weight, 0.0, 0.1);
  }
  // u: (B, C) user states; prev: (B, T) input classes (the start mark first). Returns logits (B, T, classes).
  torch::Tensor forward(const torch::Tensor& u, const torch::Tensor& prev) {
    auto h0 = torch::tanh(init(u)).unsqueeze(0);
    auto x = torch::cat({embed(prev), u.unsqueeze(1).expand({-1, prev.size(1), -1})}, 2);
    auto y = std::get<0>(gru(x, h0));
    return out(y);
  }
  torch::nn::Embedding embed{nullptr};
  torch::nn::Linear init{nullptr}, out{nullptr};
  torch::nn::GRU gru{nullptr};
};
TORCH_MODULE(DecNet);

std::vector<float> Vec(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

namespace {

// One training run of the decoder: the pair rows split into fitting and held-out, batches, epochs with early
// stopping on the held-out loss, and the export of the kept weights.
class DecoderTrainer {
 public:
  DecoderTrainer(std::span<const float> u, int in_dim, const std::vector<std::vector<int>>& targets,
                 const TextDecoderConfig& cfg)
      : u_(u), in_dim_(in_dim), targets_(targets), cfg_(cfg), rng_(cfg.seed) {}

  // Classes, rows and the net; false when there is nothing to learn.
  bool Prepare() {
    std::vector<int> all;
    for (const auto& t : targets_)
      for (size_t j = 0; j < t.size() && j < static_cast<size_t>(cfg_.max_target); ++j)
        if (t[j] >= 0) all.push_back(t[j]);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    pieces_ = std::move(all);
    for (size_t k = 0; k < targets_.size(); ++k)
      if (!targets_[k].empty()) rows_.push_back(k);
    if (pieces_.empty() || rows_.size() < 2) return false;
    for (size_t c = 0; c < pieces_.size(); ++c) cls_.emplace(pieces_[c], static_cast<int>(c));
    C_ = static_cast<int64_t>(pieces_.size()) + 1;
    torch::manual_seed(cfg_.seed);
    torch::set_num_threads(std::max(1, cfg_.threads));
    std::shuffle(rows_.begin(), rows_.end(), rng_);
    size_t n_val = std::clamp<size_t>(static_cast<size_t>(static_cast<double>(rows_.size()) * cfg_.val_share), 1,
                                      rows_.size() / 2);
    val_.assign(rows_.end() - static_cast<std::ptrdiff_t>(n_val), rows_.end());
    rows_.resize(rows_.size() - n_val);
    net_ = DecNet(C_, in_dim_, cfg_.emb, cfg_.hidden);
    opt_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(cfg_.lr));
    return true;
  }

  void Run(std::vector<DecoderEpoch>* log, bool progress) {
    double best = 1e300;
    int since = 0;
    std::stringstream best_state;
    const auto t_all = std::chrono::steady_clock::now();
    for (int epoch = 1; epoch <= cfg_.epochs; ++epoch) {
      DecoderEpoch e = RunEpoch(epoch);
      if (log) log->push_back(e);
      if (progress) {
        double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
        std::fprintf(stderr, "decoder epoch %2d/%d | loss %.4f | held-out loss %.4f | %.1f s | ETA %s\n", epoch,
                     cfg_.epochs, e.train_loss, e.val_loss, e.seconds,
                     FormatDuration(el / epoch * (cfg_.epochs - epoch)).c_str());
      }
      if (e.val_loss < best) {
        best = e.val_loss;
        since = 0;
        best_state.str("");
        torch::save(net_, best_state);
      } else if (++since >= cfg_.patience) {
        if (progress) std::fprintf(stderr, "decoder: early stop, no held-out gain for %d epochs\n", cfg_.patience);
        break;
      }
    }
    if (!best_state.str().empty()) torch::load(net_, best_state);
  }

  TextDecoder Export(const std::vector<uint8_t>& word_start) {
    torch::NoGradGuard g;
    TextDecoder d;
    d.pieces = pieces_;
    for (int p : pieces_) d.word_start.push_back(static_cast<size_t>(p) < word_start.size() ? word_start[p] : 0);
    d.in_dim = in_dim_;
    d.hidden = cfg_.hidden;
    d.emb = cfg_.emb;
    d.emb_w = Vec(net_->embed->weight);
    d.init_w = Vec(net_->init->weight);
    d.init_b = Vec(net_->init->bias);
    auto gp = net_->gru->named_parameters();
    d.w_ih = Vec(gp["weight_ih_l0"]);
    d.w_hh = Vec(gp["weight_hh_l0"]);
    d.b_ih = Vec(gp["bias_ih_l0"]);
    d.b_hh = Vec(gp["bias_hh_l0"]);
    d.out_w = Vec(net_->out->weight);
    d.out_b = Vec(net_->out->bias);
    return d;
  }

 private:
  // A batch of pair rows: user states, inputs (start mark + target) and outputs (target + end mark, -1 padding).
  void MakeBatch(std::span<const size_t> b, torch::Tensor& U, torch::Tensor& X, torch::Tensor& Y) const {
    const int64_t end = C_ - 1, start = C_;
    size_t T = 1;
    for (size_t k : b) T = std::max(T, std::min<size_t>(targets_[k].size(), static_cast<size_t>(cfg_.max_target)) + 1);
    const int64_t B = static_cast<int64_t>(b.size());
    const auto I = static_cast<size_t>(in_dim_);
    std::vector<float> us(b.size() * I);
    std::vector<int64_t> xs(b.size() * T, end), ys(b.size() * T, -1);
    for (size_t r = 0; r < b.size(); ++r) {
      std::copy_n(u_.data() + b[r] * I, I, us.data() + r * I);
      const auto& t = targets_[b[r]];
      size_t L = std::min<size_t>(t.size(), static_cast<size_t>(cfg_.max_target));
      xs[r * T] = start;
      for (size_t j = 0; j < L; ++j) {
        int c = cls_.at(t[j]);
        ys[r * T + j] = c;
        xs[r * T + j + 1] = c;
      }
      ys[r * T + L] = end;
    }
    U = torch::from_blob(us.data(), {B, in_dim_}, torch::kFloat).clone();
    X = torch::from_blob(xs.data(), {B, static_cast<int64_t>(T)}, torch::kLong).clone();
    Y = torch::from_blob(ys.data(), {B, static_cast<int64_t>(T)}, torch::kLong).clone();
  }

  torch::Tensor Loss(const torch::Tensor& U, const torch::Tensor& X, const torch::Tensor& Y) {
    auto logits = net_->forward(U, X);
    return torch::nn::functional::cross_entropy(logits.reshape({-1, C_}), Y.reshape({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1));
  }

  // Mean cross-entropy per written piece (end marks included) on the held-out rows.
  double HeldOutLoss() {
    torch::NoGradGuard g;
    net_->eval();
    double sum = 0;
    int64_t cnt = 0;
    for (size_t a = 0; a < val_.size(); a += 1024) {
      std::span<const size_t> b(val_.data() + a, std::min<size_t>(1024, val_.size() - a));
      torch::Tensor U, X, Y;
      MakeBatch(b, U, X, Y);
      int64_t k = Y.ne(-1).sum().item<int64_t>();
      sum += Loss(U, X, Y).item<double>() * static_cast<double>(k);
      cnt += k;
    }
    return sum / static_cast<double>(std::max<int64_t>(1, cnt));
  }

  DecoderEpoch RunEpoch(int epoch) {
    auto t0 = std::chrono::steady_clock::now();
    net_->train();
    std::shuffle(rows_.begin(), rows_.end(), rng_);
    double sum = 0;
    int64_t batches = 0;
    for (size_t a = 0; a < rows_.size(); a += static_cast<size_t>(cfg_.batch)) {
      std::span<const size_t> b(rows_.data() + a, std::min<size_t>(static_cast<size_t>(cfg_.batch), rows_.size() - a));
      torch::Tensor U, X, Y;
      MakeBatch(b, U, X, Y);
      auto loss = Loss(U, X, Y);
      opt_->zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(net_->parameters(), cfg_.clip);
      opt_->step();
      sum += loss.item<double>();
      ++batches;
    }
    return {epoch, sum / static_cast<double>(std::max<int64_t>(1, batches)), HeldOutLoss(),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
  }

  std::span<const float> u_;
  int in_dim_;
  const std::vector<std::vector<int>>& targets_;
  TextDecoderConfig cfg_;
  std::mt19937_64 rng_;
  std::vector<int> pieces_;
  std::unordered_map<int, int> cls_;
  std::vector<size_t> rows_, val_;
  int64_t C_ = 0;
  DecNet net_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_;
};

}  // namespace

Result<TextDecoder> TrainTextDecoder(std::span<const float> u, int in_dim, const std::vector<std::vector<int>>& targets,
                                     const std::vector<uint8_t>& word_start, const TextDecoderConfig& cfg,
                                     std::vector<DecoderEpoch>* log, bool progress) {
  if (in_dim <= 0 || u.size() != targets.size() * static_cast<size_t>(in_dim))
    return Status::InvalidArgument("text decoder: states and targets differ in number");
  HeapKeeper keep;  // see heap.h
  DecoderTrainer t(u, in_dim, targets, cfg);
  if (!t.Prepare()) return Status::InvalidArgument("text decoder: no text to learn from");
  t.Run(log, progress);
  TextDecoder d = t.Export(word_start);
  VANE_RETURN_IF_ERROR(d.Validate());
  return d;
}

}  // namespace vane
