#include "vane/model/infer.h"

#include <algorithm>
#include <cmath>

#include "dot.h"

namespace vane {
namespace {

// y = W x + b for W (out x in) row-major.
void Linear(const std::vector<float>& W, const std::vector<float>& b, const float* x, int in, int out, float* y) {
  for (int o = 0; o < out; ++o) y[o] = b[o] + Dot(W.data() + static_cast<size_t>(o) * in, x, in);
}

// Y[r] = W X[r] + b for `rows` rows of X (row-major, `in` wide): Linear's arithmetic exactly (the same Dot on the
// same operands), in blocks of positions so that each weight row is read from memory once per block.
void LinearRows(const std::vector<float>& W, const std::vector<float>& b, const float* X, int rows, int in, int out,
                float* Y) {
  constexpr int kBlock = 8;
  for (int r0 = 0; r0 < rows; r0 += kBlock) {
    const int r1 = std::min(rows, r0 + kBlock);
    for (int o = 0; o < out; ++o) {
      const float* w = W.data() + static_cast<size_t>(o) * in;
      for (int r = r0; r < r1; ++r)
        Y[static_cast<size_t>(r) * out + o] = b[o] + Dot(w, X + static_cast<size_t>(r) * in, in);
    }
  }
}

// Attention of one position's query (all heads) over the first `n` cached rows of a layer (keys kc, values vc, C
// wide): out = the attention-weighted values. `w` holds n scores of scratch; `avg`, when given, accumulates each
// row's attention summed over heads. Append and Prefill share it, which keeps them equal bit for bit.
void Attend(const float* q, const float* kc, const float* vc, int64_t n, int C, int H, float* w, float* out,
            float* avg) {
  const int D = C / H;
  for (int hh = 0; hh < H; ++hh) {
    float mx = -1e30f;
    for (int64_t j = 0; j < n; ++j) {
      float s = Dot(q + hh * D, kc + static_cast<size_t>(j) * C + hh * D, D);
      w[j] = s;
      mx = std::max(mx, s);
    }
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += (w[j] = std::exp(w[j] - mx));
    for (int i = 0; i < D; ++i) out[hh * D + i] = 0;
    for (int64_t j = 0; j < n; ++j) {
      const float* vj = vc + static_cast<size_t>(j) * C + hh * D;
      float p = w[j] / sum;
      if (avg) avg[j] += p;
      for (int i = 0; i < D; ++i) out[hh * D + i] += p * vj[i];
    }
  }
}

// Exact GELU, as torch::gelu, in place.
void Gelu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] / std::sqrt(2.0f)));
}

void LayerNorm(const std::vector<float>& g, const std::vector<float>& b, const float* x, int n, float* y) {
  double mean = 0, var = 0;
  for (int i = 0; i < n; ++i) mean += x[i];
  mean /= n;
  for (int i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  auto inv = static_cast<float>(1.0 / std::sqrt(var + 1e-5));  // torch's default eps
  for (int i = 0; i < n; ++i) y[i] = (x[i] - static_cast<float>(mean)) * inv * g[i] + b[i];
}

// Rotates the two halves of a head vector by the angles of absolute position p (as Rope in seq_model.cc).
void Rotate(float* x, int d, int64_t p, const std::vector<double>& inv_freq) {
  int h = d / 2;
  for (int i = 0; i < h; ++i) {
    // Angles in single precision, as the libtorch tables are, for positions below max_len; beyond, relative
    // distances are what matter and double keeps them exact.
    double ang = static_cast<double>(p) * inv_freq[i];
    float c = static_cast<float>(std::cos(ang)), s = static_cast<float>(std::sin(ang));
    float a = x[i], b = x[i + h];
    x[i] = a * c - b * s;
    x[i + h] = a * s + b * c;
  }
}

// softmax(W h + b) over K outputs of a head; empty when the head is absent or nothing was appended yet.
void SoftmaxHead(const std::vector<float>& W, const std::vector<float>& b, int K, const float* h, int dim,
                 std::vector<float>& out) {
  out.clear();
  if (K == 0 || !h || dim == 0) return;
  out.resize(static_cast<size_t>(K));
  Linear(W, b, h, dim, K, out.data());
  float mx = *std::max_element(out.begin(), out.end()), sum = 0;
  for (float& z : out) sum += (z = std::exp(z - mx));
  for (float& z : out) z /= sum;
}

}  // namespace

SeqInference SeqInference::FromModel(const SeqModel& model) {
  SeqInference inf;
  inf.w_ = model.Export();
  int d = inf.w_.dim / inf.w_.heads;
  for (int i = 0; i < d / 2; ++i) {
    // Same float computation as RopeTables: 10000^(-2i/D) in single precision.
    float f = std::pow(10000.0f, -static_cast<float>(i) * 2.0f / static_cast<float>(d));
    inf.inv_freq_.push_back(f);
  }
  return inf;
}

size_t SeqInference::StateBytes() const {
  return 2 * static_cast<size_t>(w_.layers) * w_.max_len * w_.dim * sizeof(float) + w_.dim * sizeof(float);
}

void SeqInference::Append(State& st, uint32_t token, uint8_t side) const {
  const size_t C = static_cast<size_t>(w_.dim);
  if (token < w_.num_items) {
    AppendVector(st, w_.table.data() + (token + 1) * C, side);
  } else if (token - w_.num_items < w_.num_queries) {
    AppendVector(st, w_.query_table.data() + (token - w_.num_items) * C, side);
  }
}

void SeqInference::Prefill(State& st, std::span<const uint32_t> tokens) const {
  const int C = w_.dim, H = w_.heads, D = C / H, L = w_.max_len;
  const int n = static_cast<int>(tokens.size());
  VANE_CHECK(st.count == 0 && st.h.empty(), "Prefill builds a state from nothing: append to a used one");
  VANE_CHECK(n <= L, "Prefill takes at most max_len tokens (the ring has max_len slots)");
  for (uint32_t t : tokens) VANE_CHECK(t < w_.num_items, "Prefill takes items only (searches go through Append)");
  if (n == 0) return;
  st.k.assign(static_cast<size_t>(w_.layers) * L * C, 0.0f);
  st.v.assign(st.k.size(), 0.0f);
  const size_t nc = static_cast<size_t>(n) * C;
  std::vector<float> x(nc), a(nc), qkv(nc * 3), att(nc), hid(nc * 4), tmp(nc), w(static_cast<size_t>(n));
  const float scale = std::sqrt(static_cast<float>(C));
  for (int p = 0; p < n; ++p) {
    const float* e = w_.table.data() + (static_cast<size_t>(tokens[p]) + 1) * C;
    float* xp = x.data() + static_cast<size_t>(p) * C;
    for (int i = 0; i < C; ++i) xp[i] = e[i] * scale;
    if (!w_.act.empty())
      for (int i = 0; i < C; ++i) xp[i] += w_.act[i] + w_.gap[i];  // side 0: both rows 0
  }
  const float qs = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<float> avg(static_cast<size_t>(n));
  for (int l = 0; l < w_.layers; ++l) {
    const auto& B = w_.blocks[l];
    const bool last = l == w_.layers - 1;
    for (int p = 0; p < n; ++p) LayerNorm(B.ln1_g, B.ln1_b, x.data() + static_cast<size_t>(p) * C, C, a.data() + static_cast<size_t>(p) * C);
    LinearRows(B.qkv_w, B.qkv_b, a.data(), n, C, 3 * C, qkv.data());
    float* kc = st.k.data() + (static_cast<size_t>(l) * L) * C;
    float* vc = st.v.data() + (static_cast<size_t>(l) * L) * C;
    for (int p = 0; p < n; ++p) {
      float* q = qkv.data() + static_cast<size_t>(p) * 3 * C;
      float* k = q + C;
      for (int i = 0; i < C; ++i) q[i] *= qs;
      for (int hh = 0; hh < H; ++hh) {
        Rotate(q + hh * D, D, p, inv_freq_);
        Rotate(k + hh * D, D, p, inv_freq_);
      }
      std::copy(k, k + C, kc + static_cast<size_t>(p) * C);
      std::copy(k + C, k + 2 * C, vc + static_cast<size_t>(p) * C);
    }
    // Attention of every position over itself and the ones before it (the last layer: the newest one only).
    for (int p = last ? n - 1 : 0; p < n; ++p) {
      const float* q = qkv.data() + static_cast<size_t>(p) * 3 * C;
      float* out = att.data() + static_cast<size_t>(p) * C;
      Attend(q, kc, vc, p + 1, C, H, w.data(), out, last ? avg.data() : nullptr);
    }
    // The rest of the block; the last layer's only for the newest position.
    const int first = last ? n - 1 : 0, rows = n - first;
    const size_t off = static_cast<size_t>(first) * C;
    LinearRows(B.proj_w, B.proj_b, att.data() + off, rows, C, C, tmp.data());
    for (size_t i = 0; i < static_cast<size_t>(rows) * C; ++i) x[off + i] += tmp[i];
    for (int r = 0; r < rows; ++r)
      LayerNorm(B.ln2_g, B.ln2_b, x.data() + off + static_cast<size_t>(r) * C, C, a.data() + static_cast<size_t>(r) * C);
    LinearRows(B.fc1_w, B.fc1_b, a.data(), rows, C, 4 * C, hid.data());
    Gelu(hid.data(), static_cast<size_t>(rows) * 4 * C);
    LinearRows(B.fc2_w, B.fc2_b, hid.data(), rows, 4 * C, C, tmp.data());
    for (size_t i = 0; i < static_cast<size_t>(rows) * C; ++i) x[off + i] += tmp[i];
  }
  st.attended = std::max_element(avg.begin(), avg.end()) - avg.begin();
  st.h.resize(C);
  LayerNorm(w_.lnf_g, w_.lnf_b, x.data() + static_cast<size_t>(n - 1) * C, C, st.h.data());
  st.count = n;
}

bool SeqInference::AppendQuery(State& st, std::span<const int> pieces, uint8_t side) const {
  if (w_.vocab == 0) return false;
  const int C = w_.dim;
  std::vector<float> e(static_cast<size_t>(C), 0.0f);
  int n = 0;
  for (int p : pieces) {
    if (p < 0 || p >= w_.vocab) continue;
    const float* row = w_.sub.data() + static_cast<size_t>(p) * C;
    for (int i = 0; i < C; ++i) e[i] += row[i];
    ++n;
  }
  if (n == 0) return false;
  for (float& z : e) z /= static_cast<float>(n);
  AppendVector(st, e.data(), side);
  return true;
}

void SeqInference::AppendVector(State& st, const float* e, uint8_t side) const {
  const int C = w_.dim, H = w_.heads, D = C / H, L = w_.max_len;
  if (st.k.empty()) {
    st.k.assign(static_cast<size_t>(w_.layers) * L * C, 0.0f);
    st.v.assign(st.k.size(), 0.0f);
  }
  int slot = static_cast<int>(st.count % L);
  int64_t filled = std::min<int64_t>(st.count + 1, L);
  std::vector<float> x(C), a(C), qkv(3 * C), att(C), hid(4 * C), tmp(C), w(static_cast<size_t>(filled));
  float scale = std::sqrt(static_cast<float>(C));
  for (int i = 0; i < C; ++i) x[i] = e[i] * scale;
  if (!w_.act.empty()) {
    const float* a_row = w_.act.data() + static_cast<size_t>(side >> 4) * C;
    const float* g_row = w_.gap.data() + static_cast<size_t>(side & 15) * C;
    for (int i = 0; i < C; ++i) x[i] += a_row[i] + g_row[i];
  }
  for (int l = 0; l < w_.layers; ++l) {
    const auto& B = w_.blocks[l];
    LayerNorm(B.ln1_g, B.ln1_b, x.data(), C, a.data());
    Linear(B.qkv_w, B.qkv_b, a.data(), C, 3 * C, qkv.data());
    float* q = qkv.data();
    float* k = qkv.data() + C;
    float* v = qkv.data() + 2 * C;
    float qs = 1.0f / std::sqrt(static_cast<float>(D));
    for (int i = 0; i < C; ++i) q[i] *= qs;
    for (int hh = 0; hh < H; ++hh) {
      Rotate(q + hh * D, D, st.count, inv_freq_);
      Rotate(k + hh * D, D, st.count, inv_freq_);
    }
    float* kc = st.k.data() + (static_cast<size_t>(l) * L) * C;
    float* vc = st.v.data() + (static_cast<size_t>(l) * L) * C;
    std::copy(k, k + C, kc + static_cast<size_t>(slot) * C);
    std::copy(v, v + C, vc + static_cast<size_t>(slot) * C);
    // Scores against every cached position (all are at or before this one).
    std::vector<float> avg(static_cast<size_t>(filled), 0.0f);
    Attend(q, kc, vc, filled, C, H, w.data(), att.data(), avg.data());
    if (l == w_.layers - 1) {
      // Slot j holds absolute position: the newest slot is `slot`; older ones are behind it in the ring.
      int64_t best = std::max_element(avg.begin(), avg.end()) - avg.begin();
      int64_t back = (slot - best + L) % L;  // how many events before the newest
      st.attended = st.count - back;
    }
    Linear(B.proj_w, B.proj_b, att.data(), C, C, tmp.data());
    for (int i = 0; i < C; ++i) x[i] += tmp[i];
    LayerNorm(B.ln2_g, B.ln2_b, x.data(), C, a.data());
    Linear(B.fc1_w, B.fc1_b, a.data(), C, 4 * C, hid.data());
    Gelu(hid.data(), hid.size());
    Linear(B.fc2_w, B.fc2_b, hid.data(), 4 * C, C, tmp.data());
    for (int i = 0; i < C; ++i) x[i] += tmp[i];
  }
  st.h.resize(C);
  LayerNorm(w_.lnf_g, w_.lnf_b, x.data(), C, st.h.data());
  ++st.count;
}

void SeqInference::Interest(const State& st, std::vector<float>& out) const {
  SoftmaxHead(w_.interest_w, w_.interest_b, w_.num_categories, st.h.empty() ? nullptr : st.h.data(), w_.dim, out);
}

void SeqInference::Interest(const float* h, std::vector<float>& out) const {
  SoftmaxHead(w_.interest_w, w_.interest_b, w_.num_categories, h, w_.dim, out);
}

void SeqInference::Keywords(const State& st, std::vector<float>& out) const {
  SoftmaxHead(w_.keyword_w, w_.keyword_b, w_.num_keywords, st.h.empty() ? nullptr : st.h.data(), w_.dim, out);
}

void SeqInference::Score(const float* h, std::vector<float>& out) const {
  const int C = w_.dim;
  out.resize(w_.num_items);
  for (size_t i = 0; i < w_.num_items; ++i) {
    const float* e = w_.table.data() + (i + 1) * C;
    out[i] = Dot(h, e, C);
  }
}

}  // namespace vane
