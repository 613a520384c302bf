#include "vane/core/binary_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

namespace vane {
namespace {

static_assert(std::endian::native == std::endian::little, "snapshots assume a little-endian host");

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full, kP3 = 0x165667B19E3779F9ull,
                   kP4 = 0x85EBCA77C2B2AE63ull, kP5 = 0x27D4EB2F165667C5ull;

uint64_t Read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t Read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Round(uint64_t acc, uint64_t input) { return std::rotl(acc + input * kP2, 31) * kP1; }
uint64_t MergeRound(uint64_t acc, uint64_t v) { return (acc ^ Round(0, v)) * kP1 + kP4; }

constexpr char kMagic[8] = {'V', 'A', 'N', 'E', 'S', 'N', 'A', 'P'};
constexpr char kEndMagic[8] = {'V', 'A', 'N', 'E', '_', 'E', 'N', 'D'};
constexpr uint32_t kLayout = 1;
constexpr uint32_t kEndianTag = 0x01020304;
constexpr size_t kHeaderBytes = 24, kTrailerBytes = 24;

Status Errno(std::string_view what, const std::string& path) {
  return Status::IoError(fmt::format("snapshot: {} {}: {}", what, path, std::strerror(errno)));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t w = ::write(fd, bytes.data(), bytes.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Errno("cannot write", path);
    bytes.remove_prefix(static_cast<size_t>(w));
  }
  return Status::Ok();
}

Status ReadAll(int fd, char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("cannot read", path);
    if (r == 0) return Status(StatusCode::kIoError, "snapshot_corrupt", "snapshot: " + path + " is truncated");
    p += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status Corrupt(const std::string& path, std::string_view why) {
  return Status(StatusCode::kIoError, "snapshot_corrupt", fmt::format("snapshot: {}: {}", path, why));
}

// Closes the descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// Xxh64 -----------------------------------------------------------------------------------------------------------

Xxh64::Xxh64(uint64_t seed) : seed_(seed), v_{seed + kP1 + kP2, seed + kP2, seed, seed - kP1} {}

void Xxh64::Update(const void* data, size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  total_ += n;
  if (buffered_ + n < 32) {
    std::memcpy(buf_ + buffered_, p, n);
    buffered_ += n;
    return;
  }
  if (buffered_ > 0) {
    size_t fill = 32 - buffered_;
    std::memcpy(buf_ + buffered_, p, fill);
    for (int i = 0; i < 4; ++i) v_[i] = Round(v_[i], Read64(buf_ + 8 * i));
    p += fill;
    n -= fill;
    buffered_ = 0;
  }
  uint64_t v0 = v_[0], v1 = v_[1], v2 = v_[2], v3 = v_[3];
  for (; n >= 32; p += 32, n -= 32) {
    v0 = Round(v0, Read64(p));
    v1 = Round(v1, Read64(p + 8));
    v2 = Round(v2, Read64(p + 16));
    v3 = Round(v3, Read64(p + 24));
  }
  v_[0] = v0, v_[1] = v1, v_[2] = v2, v_[3] = v3;
  std::memcpy(buf_, p, n);
  buffered_ = n;
}

uint64_t Xxh64::Digest() const {
  uint64_t h;
  if (total_ >= 32) {
    h = std::rotl(v_[0], 1) + std::rotl(v_[1], 7) + std::rotl(v_[2], 12) + std::rotl(v_[3], 18);
    for (uint64_t v : v_) h = MergeRound(h, v);
  } else {
    h = seed_ + kP5;
  }
  h += total_;
  const unsigned char* p = buf_;
  size_t n = buffered_;
  for (; n >= 8; p += 8, n -= 8) h = std::rotl(h ^ Round(0, Read64(p)), 27) * kP1 + kP4;
  if (n >= 4) {
    h = std::rotl(h ^ (static_cast<uint64_t>(Read32(p)) * kP1), 23) * kP2 + kP3;
    p += 4;
    n -= 4;
  }
  for (; n > 0; ++p, --n) h = std::rotl(h ^ (*p * kP5), 11) * kP1;
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t Xxh64::Of(const void* data, size_t n, uint64_t seed) {
  Xxh64 h(seed);
  h.Update(data, n);
  return h.Digest();
}

// BinaryWriter / BinaryReader --------------------------------------------------------------------------------------

Status BinaryWriter::Flush() {
  if (!sink_ || buf_.empty()) return status_;
  if (status_.ok()) status_ = sink_(buf_);
  buf_.clear();
  return status_;
}

void BinaryWriter::BigBytes(const void* p, size_t n) {
  written_ += n;
  if (!Flush().ok()) return;
  status_ = sink_(std::string_view(static_cast<const char*>(p), n));
}

void BinaryReader::Fail(std::string why) {
  if (status_.ok())
    status_ = Status(StatusCode::kIoError, "snapshot_corrupt", fmt::format("snapshot payload at byte {}: {}", pos_, why));
}

void BinaryReader::Bytes(void* p, size_t n, const char* what) {
  if (!ok() || n > data_.size() - pos_) {
    if (ok()) Fail(fmt::format("{} of {} bytes runs past the end ({} left)", what, n, data_.size() - pos_));
    std::memset(p, 0, n);
    return;
  }
  std::memcpy(p, data_.data() + pos_, n);
  pos_ += n;
}

uint64_t BinaryReader::Count(size_t min_bytes, const char* what) {
  uint64_t n = U64();
  if (ok() && min_bytes > 0 && n > (data_.size() - pos_) / min_bytes) {
    Fail(fmt::format("{} of {} elements cannot fit in the {} bytes left", what, n, data_.size() - pos_));
    return 0;
  }
  return ok() ? n : 0;
}

std::string BinaryReader::Str() {
  uint64_t n = Count(1, "string");
  std::string s(n, '\0');
  if (n) Bytes(s.data(), n, "string");
  return s;
}

void BinaryReader::Expect(std::string_view tag) {
  std::string got = Str();
  if (ok() && got != tag) Fail(fmt::format("expected section '{}', found '{}'", tag, got.substr(0, 40)));
}

void BinaryReader::StrVec(std::vector<std::string>& out) {
  uint64_t n = Count(8, "string vector");
  out.clear();
  out.reserve(n);
  for (uint64_t i = 0; i < n && ok(); ++i) out.push_back(Str());
}

// Snapshot files -----------------------------------------------------------------------------------------------------

Result<uint64_t> WriteSnapshotFile(const std::string& path, uint32_t payload_format,
                                   const std::function<void(BinaryWriter&)>& fill) {
  const std::string tmp = path + ".tmp";
  Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (f.fd < 0) return Errno("cannot create", tmp);
  Xxh64 hash;
  uint64_t payload_bytes = 0;
  auto sink = [&](std::string_view bytes) {
    hash.Update(bytes.data(), bytes.size());
    return WriteAll(f.fd, bytes, tmp);
  };
  char header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, 8);
  const uint32_t fields[4] = {kLayout, kEndianTag, payload_format, 0};
  std::memcpy(header + 8, fields, sizeof fields);
  Status s = sink(std::string_view(header, kHeaderBytes));
  if (s.ok()) {
    BinaryWriter w(sink, 4 << 20);
    fill(w);
    s = w.Flush();
    payload_bytes = w.bytes_written();
  }
  if (s.ok()) {
    char trailer[kTrailerBytes];
    const uint64_t digest = hash.Digest();
    std::memcpy(trailer, &payload_bytes, 8);
    std::memcpy(trailer + 8, &digest, 8);
    std::memcpy(trailer + 16, kEndMagic, 8);
    s = WriteAll(f.fd, std::string_view(trailer, kTrailerBytes), tmp);
  }
  if (s.ok() && ::fsync(f.fd) != 0) s = Errno("cannot fsync", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Errno("cannot rename to", path);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  Fd d{::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0 || ::fsync(d.fd) != 0) return Errno("cannot fsync the directory of", path);
  return kHeaderBytes + payload_bytes + kTrailerBytes;
}

Result<std::string> ReadSnapshotFile(const std::string& path, uint32_t payload_format) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return Errno("cannot open", path);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return Errno("cannot stat", path);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes + kTrailerBytes) return Corrupt(path, fmt::format("{} bytes: too short", size));
  char header[kHeaderBytes];
  VANE_RETURN_IF_ERROR(ReadAll(f.fd, header, kHeaderBytes, path));
  uint32_t fields[4];
  std::memcpy(fields, header + 8, sizeof fields);
  if (std::memcmp(header, kMagic, 8) != 0) return Corrupt(path, "not a snapshot (bad magic)");
  if (fields[1] != kEndianTag) return Corrupt(path, "written on a host of another byte order");
  if (fields[0] != kLayout || fields[2] != payload_format)
    return Status::FailedPrecondition(fmt::format("snapshot: {}: layout {} format {}; this build reads layout {} format {}",
                                                  path, fields[0], fields[2], kLayout, payload_format));
  std::string payload(size - kHeaderBytes - kTrailerBytes, '\0');
  VANE_RETURN_IF_ERROR(ReadAll(f.fd, payload.data(), payload.size(), path));
  char trailer[kTrailerBytes];
  VANE_RETURN_IF_ERROR(ReadAll(f.fd, trailer, kTrailerBytes, path));
  uint64_t payload_bytes, digest;
  std::memcpy(&payload_bytes, trailer, 8);
  std::memcpy(&digest, trailer + 8, 8);
  if (std::memcmp(trailer + 16, kEndMagic, 8) != 0 || payload_bytes != payload.size())
    return Corrupt(path, "truncated or extended (trailer does not match the file's length)");
  Xxh64 hash;
  hash.Update(header, kHeaderBytes);
  hash.Update(payload.data(), payload.size());
  if (hash.Digest() != digest) return Corrupt(path, "checksum mismatch");
  return payload;
}

}  // namespace vane
