// Shared by the fuzz targets: a scratch folder per process for parsers that read files, and a check that aborts
// (a crash to libFuzzer) with the broken invariant.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vane::fuzz {

// An invariant the parser must keep whatever the input: abort, naming it, when it does not.
#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

// A folder of this process's own under /dev/shm (memory) or $TMPDIR, emptied on each call: the parsers that take
// a path read the input from there.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("vane-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d, ec);
    return d.string();
  }();
  return dir;
}

inline void ClearScratch() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(ScratchDir(), ec)) std::filesystem::remove_all(e.path(), ec);
}

inline std::string WriteScratch(const std::string& name, std::string_view data) {
  std::string path = ScratchDir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), f) != data.size()) std::abort();
  std::fclose(f);
  return path;
}

// Splits the input into up to `n` parts at each "\x1e\n" (ASCII record separator ending a line), so that a target
// reading several files (data + metadata) takes all of them from one input. Parts not in the input are left out.
inline std::vector<std::string_view> SplitParts(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    size_t p = in.find("\x1e\n");
    if (p == std::string_view::npos) break;
    out.push_back(in.substr(0, p));
    in.remove_prefix(p + 2);
  }
  out.push_back(in);
  return out;
}

}  // namespace vane::fuzz
