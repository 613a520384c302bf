#include "vane/core/heap.h"

#include <malloc.h>

#include <mutex>

namespace vane {
namespace {

std::mutex mu;
int active = 0;  // guarded by mu

// glibc's defaults (malloc/malloc.c: DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD). Once set by mallopt, glibc no longer
// moves the thresholds by itself; these are the values it starts from.
constexpr int kDefaultMmapMax = 65536;
constexpr int kDefaultTrimThreshold = 128 * 1024;

}  // namespace

HeapKeeper::HeapKeeper() {
  std::lock_guard l(mu);
  if (active++ > 0) return;
  mallopt(M_MMAP_MAX, 0);  // large blocks come from the heap and are reused
  mallopt(M_TRIM_THRESHOLD, -1);  // -1: never trim (mallopt(3)); the largest int, 2 GiB, was passed by 1 GB logits
}

HeapKeeper::~HeapKeeper() {
  std::lock_guard l(mu);
  if (--active > 0) return;
  mallopt(M_MMAP_MAX, kDefaultMmapMax);
  mallopt(M_TRIM_THRESHOLD, kDefaultTrimThreshold);
  malloc_trim(0);
}

int HeapKeeper::Active() {
  std::lock_guard l(mu);
  return active;
}

}  // namespace vane
