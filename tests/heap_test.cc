// HeapKeeper: while one lives, a large block comes from the heap (no mmap of its own) and a freed one stays for the
// next; once the last is gone, glibc's defaults are back (large blocks mapped again) and the heap is trimmed.
#include "vane/core/heap.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

namespace vane {
namespace {

constexpr size_t kBig = 64u << 20;  // above glibc's largest mmap threshold (32 MiB)

// Bytes glibc holds in blocks mapped on their own, while a block of kBig is allocated.
size_t MappedWhileHeld() {
  void* p = std::malloc(kBig);
  EXPECT_NE(p, nullptr);
  std::memset(p, 1, 4096);
  const size_t mapped = mallinfo2().hblkhd;
  std::free(p);
  return mapped;
}

TEST(HeapKeeper, LargeBlocksComeFromTheHeapOnlyWhileAKeeperLives) {
  ASSERT_EQ(HeapKeeper::Active(), 0);
  const size_t before = mallinfo2().hblkhd;
  EXPECT_GE(MappedWhileHeld(), before + kBig) << "without a keeper glibc maps a 64 MiB block on its own";
  {
    HeapKeeper outer;
    {
      HeapKeeper inner;  // keepers nest: the settings stay until the last one goes
      EXPECT_EQ(HeapKeeper::Active(), 2);
    }
    EXPECT_EQ(HeapKeeper::Active(), 1);
    EXPECT_LT(MappedWhileHeld(), before + kBig) << "with a keeper the block comes from the heap";
    // The freed block is kept: the heap does not shrink below it.
    const size_t arena = mallinfo2().arena;
    EXPECT_GE(arena, kBig);
  }
  EXPECT_EQ(HeapKeeper::Active(), 0);
  EXPECT_GE(MappedWhileHeld(), before + kBig) << "the defaults are back";
  EXPECT_LT(mallinfo2().arena, kBig) << "the last keeper trims the heap";
}

}  // namespace
}  // namespace vane
