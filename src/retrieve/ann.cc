#include "vane/retrieve/ann.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>

namespace vane {
namespace {

class ExactIndex final : public VectorIndex {
 public:
  void Build(const float* v, size_t n, int dim) override {
    data_.assign(v, v + n * static_cast<size_t>(dim));
    n_ = n;
    dim_ = dim;
  }
  std::vector<std::pair<uint32_t, float>> Search(const float* q, size_t k) const override {
    std::vector<std::pair<uint32_t, float>> all(n_);
    for (size_t r = 0; r < n_; ++r) {
      const float* row = data_.data() + r * static_cast<size_t>(dim_);
      float s = 0;
      for (int c = 0; c < dim_; ++c) s += row[c] * q[c];
      all[r] = {static_cast<uint32_t>(r), s};
    }
    auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
    k = std::min(k, n_);
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
    all.resize(k);
    return all;
  }
  std::string_view name() const override { return "exact"; }
  size_t size() const override { return n_; }

 private:
  std::vector<float> data_;
  size_t n_ = 0;
  int dim_ = 0;
};

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(size_t M, size_t efc, size_t efs, uint64_t seed) : M_(M), efc_(efc), efs_(efs), seed_(seed) {}
  void Build(const float* v, size_t n, int dim) override {
    space_ = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(dim));
    hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), std::max<size_t>(1, n), M_, efc_, seed_);
    for (size_t r = 0; r < n; ++r) hnsw_->addPoint(v + r * static_cast<size_t>(dim), r);
    hnsw_->setEf(efs_);
    n_ = n;
  }
  std::vector<std::pair<uint32_t, float>> Search(const float* q, size_t k) const override {
    std::vector<std::pair<uint32_t, float>> out;
    if (!hnsw_ || n_ == 0) return out;
    auto pq = hnsw_->searchKnn(q, std::min(k, n_));
    while (!pq.empty()) {  // furthest first; inner-product "distance" is 1 - dot
      out.emplace_back(static_cast<uint32_t>(pq.top().second), 1.0f - pq.top().first);
      pq.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  std::string_view name() const override { return "hnsw"; }
  size_t size() const override { return n_; }

 private:
  size_t M_, efc_, efs_;
  uint64_t seed_;
  size_t n_ = 0;
  std::unique_ptr<hnswlib::InnerProductSpace> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw_;
};

}  // namespace

std::unique_ptr<VectorIndex> MakeExactIndex() { return std::make_unique<ExactIndex>(); }
std::unique_ptr<VectorIndex> MakeHnswIndex(size_t M, size_t efc, size_t efs, uint64_t seed) {
  return std::make_unique<HnswIndex>(M, efc, efs, seed);
}

}  // namespace vane
