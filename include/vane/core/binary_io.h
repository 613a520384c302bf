// A small binary format for state snapshots: a writer and a reader of little-endian PODs, strings and
// length-prefixed vectors, a streaming XXH64 checksum, and the snapshot file around them.
//
// Each class that has state to snapshot writes and reads itself (Save/Load next to the class); this file only
// knows bytes. Vectors are a uint64 count followed by the raw elements, strings a uint64 length and the bytes.
// PODs are written as they lie in memory: the host is assumed little-endian, and the file records that (a file
// from a big-endian host is refused, not misread).
//
// The reader never trusts a count: a length that does not fit in the rest of the input, or a read past its end,
// fails the reader (sticky; later reads return zeros) with the offset and what was being read, so a damaged or
// truncated payload is a Status, never a crash or a huge allocation.
//
// Snapshot file: "VANESNAP", uint32 layout version, uint32 endianness tag 0x01020304, uint32 payload format (the
// caller's), uint32 reserved; the payload; then a trailer: uint64 payload bytes, uint64 XXH64 (seed 0) of
// everything before the trailer, "VANE_END". It is written to `<path>.tmp`, fsync'ed, renamed over `path` and the
// directory fsync'ed: a crash leaves either the old file or the new one, never half of one. Thread-compatible.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vane/core/status.h"

namespace vane {

// XXH64 (the xxHash 64-bit hash), streaming: Update in pieces gives the same digest as one call over the whole.
class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed = 0);
  void Update(const void* data, size_t n);
  uint64_t Digest() const;
  static uint64_t Of(const void* data, size_t n, uint64_t seed = 0);

 private:
  uint64_t seed_, v_[4];
  uint64_t total_ = 0;
  unsigned char buf_[32];
  size_t buffered_ = 0;
};

class BinaryWriter {
 public:
  // Receives the written bytes in order, in pieces of about flush_bytes.
  using Sink = std::function<Status(std::string_view)>;

  BinaryWriter() = default;  // everything stays in memory: data()
  explicit BinaryWriter(Sink sink, size_t flush_bytes = 1 << 20) : sink_(std::move(sink)), flush_bytes_(flush_bytes) {}

  void Bytes(const void* p, size_t n) {
    if (sink_ && n >= flush_bytes_) {
      BigBytes(p, n);  // straight to the sink, without a copy in the buffer
      return;
    }
    buf_.append(static_cast<const char*>(p), n);
    written_ += n;
    if (sink_ && buf_.size() >= flush_bytes_) (void)Flush();
  }
  template <class T>
  void Pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Bytes(&v, sizeof v);
  }
  void U8(uint8_t v) { Pod(v); }
  void U32(uint32_t v) { Pod(v); }
  void U64(uint64_t v) { Pod(v); }
  void I64(int64_t v) { Pod(v); }
  void F32(float v) { Pod(v); }
  void F64(double v) { Pod(v); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Str(std::string_view s) {
    U64(s.size());
    Bytes(s.data(), s.size());
  }
  // A short tag that opens a section, checked by BinaryReader::Expect: a payload read with the wrong layout fails
  // at the first section instead of being misread.
  void Tag(std::string_view tag) { Str(tag); }
  template <class T>
  void PodVec(std::span<const T> v) {
    static_assert(std::is_trivially_copyable_v<T>);
    U64(v.size());
    Bytes(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  void PodVec(const std::vector<T>& v) { PodVec(std::span<const T>(v)); }
  template <class T>
  void NestedPodVec(const std::vector<std::vector<T>>& v) {
    U64(v.size());
    for (const auto& x : v) PodVec(x);
  }
  void StrVec(const std::vector<std::string>& v) {
    U64(v.size());
    for (const auto& s : v) Str(s);
  }

  // Hands the buffered bytes to the sink (no-op without one). The first failure sticks.
  Status Flush();
  // The bytes not yet handed to a sink (all of them without one); Take moves them out.
  const std::string& data() const { return buf_; }
  std::string Take() { return std::move(buf_); }
  // Room for n bytes in memory (a writer without a sink that knows about how much it will write grows once).
  void Reserve(size_t n) { buf_.reserve(n); }
  uint64_t bytes_written() const { return written_; }
  const Status& status() const { return status_; }

 private:
  void BigBytes(const void* p, size_t n);

  Sink sink_;
  size_t flush_bytes_ = 0;
  std::string buf_;
  uint64_t written_ = 0;
  Status status_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view data) : data_(data) {}

  // Copies n bytes to p, or fails the reader (p zero-filled) when fewer are left.
  void Bytes(void* p, size_t n, const char* what = "bytes");
  template <class T>
  T Pod(const char* what = "value") {
    static_assert(std::is_trivially_copyable_v<T>);
    T v{};
    Bytes(&v, sizeof v, what);
    return v;
  }
  uint8_t U8() { return Pod<uint8_t>("u8"); }
  uint32_t U32() { return Pod<uint32_t>("u32"); }
  uint64_t U64() { return Pod<uint64_t>("u64"); }
  int64_t I64() { return Pod<int64_t>("i64"); }
  float F32() { return Pod<float>("f32"); }
  double F64() { return Pod<double>("f64"); }
  bool Bool() { return U8() != 0; }
  std::string Str();
  // Reads a section tag and fails unless it is `tag`.
  void Expect(std::string_view tag);
  // A count of elements of at least min_bytes each: fails (returns 0) when the rest of the input cannot hold them.
  uint64_t Count(size_t min_bytes, const char* what);
  template <class T>
  void PodVec(std::vector<T>& out) {
    static_assert(std::is_trivially_copyable_v<T>);
    uint64_t n = Count(sizeof(T), "vector");
    out.resize(n);
    if (n) Bytes(out.data(), n * sizeof(T), "vector");
  }
  template <class T>
  void NestedPodVec(std::vector<std::vector<T>>& out) {
    uint64_t n = Count(8, "nested vector");
    out.clear();
    out.resize(n);
    for (auto& x : out) {
      PodVec(x);
      if (!ok()) return;
    }
  }
  void StrVec(std::vector<std::string>& out);

  // Fails the reader with `why` (a check of the values read; the first failure sticks).
  void Fail(std::string why);
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  size_t offset() const { return pos_; }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  Status status_;
};

// Writes a snapshot file (see the file comment): `fill` writes the payload. The file appears whole or not at all.
// Returns the file's size in bytes.
Result<uint64_t> WriteSnapshotFile(const std::string& path, uint32_t payload_format,
                                   const std::function<void(BinaryWriter&)>& fill);
// Reads a snapshot file and returns its payload once the magic, layout, endianness, payload format, length and
// checksum all check out; otherwise an IoError ("snapshot_corrupt") or FailedPrecondition (another format).
Result<std::string> ReadSnapshotFile(const std::string& path, uint32_t payload_format);

}  // namespace vane
