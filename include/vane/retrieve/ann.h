// Maximum-inner-product search over item vectors, behind one small interface: an exact brute-force index (the test
// oracle) and an HNSW graph index (hnswlib, Debian libhnswlib-dev) for catalogues too large to score exhaustively
// per request. Build once, then Search is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace vane {

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  // Indexes n vectors of `dim` floats (row-major); vector r gets id r.
  virtual void Build(const float* vectors, size_t n, int dim) = 0;
  // The k ids with the largest inner product with q (dim floats), best first, with their inner products.
  virtual std::vector<std::pair<uint32_t, float>> Search(const float* q, size_t k) const = 0;
  virtual std::string_view name() const = 0;
  virtual size_t size() const = 0;
};

std::unique_ptr<VectorIndex> MakeExactIndex();
// M: graph degree; ef_construction / ef_search: candidate list sizes at build and query time (recall vs speed).
std::unique_ptr<VectorIndex> MakeHnswIndex(size_t M = 16, size_t ef_construction = 200, size_t ef_search = 256,
                                           uint64_t seed = 100);

}  // namespace vane
