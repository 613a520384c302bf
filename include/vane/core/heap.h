// Keeping freed memory for reuse while a model trains or scores in batches.
//
// glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh mmap and unmaps it on free,
// and it returns a freed heap top above 128 KiB to the system. A training step allocates and frees tensors of
// hundreds of MB (a batch's logits over the whole catalogue), so each step faulted every page in again: on Beauty
// (12,101 items) a 70 s epoch spent about a third of its time in the kernel (191 M minor page faults in 31 epochs).
// With mmap off and the heap kept, the same epoch takes 16-24 s (BENCHMARKS.md §16.8). HeapKeeper sets that while
// one or more keepers live, and restores glibc's defaults and trims the heap when the last one goes, so that
// `vane serve` gives the memory of an in-process retraining back. Not for the request path: it blocks nothing,
// but a server keeping every peak would hold its highest memory forever.
#pragma once

namespace vane {

class HeapKeeper {
 public:
  HeapKeeper();
  ~HeapKeeper();
  HeapKeeper(const HeapKeeper&) = delete;
  HeapKeeper& operator=(const HeapKeeper&) = delete;
  // How many keepers live now (0 when glibc's defaults are in force). For tests.
  static int Active();
};

}  // namespace vane
