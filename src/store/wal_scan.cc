// The write-ahead logs read record by record, with their checksums: where a log is damaged, by file and offset.
// RocksDB's log format (db/log_format.h): 32 KiB blocks; a block holds fragments, each with a header of CRC32C
// (masked, 4 bytes), payload length (2), type (1) and, for recyclable types, the log number (4); a logical record
// (a write batch) is one full fragment or a first, middles and a last; fewer than 7 bytes left in a block are zero
// padding. The checksum covers the header from the type on and the payload.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "rocksdb_internal.h"

namespace vane::store_internal {
namespace {

constexpr size_t kBlockSize = 32768;
constexpr size_t kHeaderSize = 7;
constexpr size_t kRecyclableHeaderSize = 11;
enum : unsigned { kZero = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4, kRecyclableFull = 5, kRecyclableLast = 8,
                  kSetCompression = 9 };

uint32_t Crc32c(const unsigned char* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

uint32_t Fixed32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// One log file: damage runs (from a bad fragment to the next intact one) become problems; complete records count.
class FileScan {
 public:
  FileScan(std::string name, std::string data, bool keep, WalScan& out)
      : name_(std::move(name)), data_(std::move(data)), keep_(keep), out_(out) {}

  void Run() {
    size_t off = 0;
    while (off < data_.size()) {
      size_t left = kBlockSize - off % kBlockSize;
      if (left < kHeaderSize) {  // block trailer
        off += left;
        continue;
      }
      if (data_.size() - off < kHeaderSize) {
        Damage(off, "a header cut off by the end of the file");
        break;
      }
      off = Fragment(off, left);
    }
    if (in_record_) {  // the file ends inside a record: the damage begins at the record's first fragment
      if (run_) run_->offset = std::min<uint64_t>(run_->offset, record_offset_);
      else Damage(record_offset_, "a record cut off by the end of the file (its last fragment is missing)");
    }
    if (run_) {
      run_->bytes = data_.size() - run_->offset;
      run_->to_end = true;
      out_.problems.push_back(*run_);
    }
  }

 private:
  // Reads the fragment at `off` (with `left` bytes to the block's end); returns where the next one starts.
  size_t Fragment(size_t off, size_t left) {
    const auto* h = reinterpret_cast<const unsigned char*>(data_.data() + off);
    size_t len = size_t(h[4]) | (size_t(h[5]) << 8);
    unsigned type = h[6];
    if (type == kZero && len == 0) return off + left;  // preallocated space, never written
    size_t hs = (type >= kRecyclableFull && type <= kRecyclableLast) ? kRecyclableHeaderSize : kHeaderSize;
    if (off + hs + len > data_.size()) {
      Damage(off, "a record cut off by the end of the file");
      return data_.size();
    }
    if (hs + len > left) {
      Damage(off, "a bad record length");
      return off + left;
    }
    if (Unmask(Fixed32(h)) != Crc32c(h + 6, hs - 6 + len)) {
      Damage(off, "checksum mismatch");
      in_record_ = false;
      return off + left;  // the length may be what is damaged: resume at the next block, as RocksDB does
    }
    Intact(off);
    std::string_view payload(data_.data() + off + hs, len);
    switch (type >= kRecyclableFull && type <= kRecyclableLast ? type - 4 : type) {
      case kFull: Complete(off, payload); break;
      case kFirst:
        in_record_ = true;
        record_offset_ = off;
        record_.assign(payload);
        break;
      case kMiddle:
        if (in_record_) record_.append(payload);
        break;
      case kLast:
        if (in_record_) {
          record_.append(payload);
          Complete(record_offset_, record_);
        }
        break;
      case kSetCompression: break;
      default: Damage(off, fmt::format("an unknown record type {}", type));
    }
    return off + hs + len;
  }

  void Complete(size_t off, std::string_view batch) {
    in_record_ = false;
    ++out_.record_count;
    if (keep_) out_.records.push_back({name_, off, std::string(batch)});
  }

  void Damage(size_t off, std::string what) {
    if (!run_) run_ = WalProblem{name_, off, 0, std::move(what), false};
  }

  void Intact(size_t off) {
    if (!run_) return;
    run_->bytes = off - run_->offset;
    out_.problems.push_back(*run_);
    run_.reset();
  }

  std::string name_, data_;
  bool keep_;
  WalScan& out_;
  std::optional<WalProblem> run_;
  bool in_record_ = false;
  size_t record_offset_ = 0;
  std::string record_;
};

uint64_t LogNumber(const std::string& name) { return std::strtoull(name.c_str(), nullptr, 10); }

}  // namespace

std::string WalProblem::ToString() const {
  return fmt::format("{} offset {}: {} ({} bytes{})", file, offset, what, bytes, to_end ? " to the end of the file" : "");
}

WalScan ScanWals(const std::string& dir, const FolderInventory& inv, bool keep_records) {
  WalScan out;
  for (const std::string& name : inv.wals) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in) {
      out.problems.push_back({name, 0, 0, "cannot be read", true});
      continue;
    }
    FileScan(name, buf.str(), keep_records, out).Run();
  }
  return out;
}

bool OnlyATornTail(const WalScan& scan, const FolderInventory& inv) {
  if (scan.problems.size() != 1 || inv.wals.empty()) return false;
  uint64_t newest = 0;
  for (const auto& w : inv.wals) newest = std::max(newest, LogNumber(w));
  const WalProblem& p = scan.problems[0];
  return p.to_end && LogNumber(p.file) == newest;
}

}  // namespace vane::store_internal
