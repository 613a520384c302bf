// Failures injected below RocksDB: a file system (rocksdb::FileSystemWrapper) whose writable files consult a
// StoreFaults plan before each append and sync, after LevelDB's fault-injection Env. It also remembers how much of
// each write-ahead log was synced, so a test can model a power loss (StoreFaults::DropUnsyncedData).
#include <rocksdb/file_system.h>

#include <algorithm>
#include <filesystem>

#include "rocksdb_internal.h"

namespace vane {
namespace {

bool IsWal(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  return name.ends_with(".log") && name != "LOG";
}

class FaultFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultFile(std::unique_ptr<rocksdb::FSWritableFile> f, std::string path, std::shared_ptr<StoreFaults> plan)
      : FSWritableFileOwnerWrapper(std::move(f)), path_(std::move(path)), plan_(std::move(plan)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Do(data, [&](const rocksdb::Slice& d) { return target()->Append(d, o, dbg); });
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o, const rocksdb::DataVerificationInfo&,
                           rocksdb::IODebugContext* dbg) override {
    return Do(data, [&](const rocksdb::Slice& d) { return target()->Append(d, o, dbg); });
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return DoSync([&] { return target()->Sync(o, dbg); });
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return DoSync([&] { return target()->Fsync(o, dbg); });
  }

 private:
  template <typename F>
  rocksdb::IOStatus Do(const rocksdb::Slice& data, F write) {
    if (frozen_) return rocksdb::IOStatus::IOError("injected: no write after a torn one (the writer died)", path_);
    size_t keep = 0;
    switch (plan_->OnAppend(path_, data.size(), &keep)) {
      case StoreFaults::Action::kFail: return rocksdb::IOStatus::IOError("injected write failure", path_);
      case StoreFaults::Action::kNoSpace: return rocksdb::IOStatus::NoSpace("injected: no space left on device", path_);
      case StoreFaults::Action::kTear: {
        rocksdb::IOStatus s = write(rocksdb::Slice(data.data(), keep));
        if (s.ok()) size_ += keep;
        plan_->Written(path_, size_, false);
        frozen_ = true;  // a crash mid-write: nothing more reaches this file (RocksDB would re-flush its buffer)
        return rocksdb::IOStatus::IOError("injected torn write", path_);
      }
      case StoreFaults::Action::kPass: break;
    }
    rocksdb::IOStatus s = write(data);
    if (s.ok()) size_ += data.size();
    plan_->Written(path_, size_, false);
    return s;
  }

  template <typename F>
  rocksdb::IOStatus DoSync(F sync) {
    if (frozen_) return rocksdb::IOStatus::IOError("injected: no sync after a torn write (the writer died)", path_);
    switch (plan_->OnSync(path_)) {
      case StoreFaults::Action::kNoSpace: return rocksdb::IOStatus::NoSpace("injected: no space left on device", path_);
      case StoreFaults::Action::kPass: break;
      default: return rocksdb::IOStatus::IOError("injected sync failure", path_);
    }
    rocksdb::IOStatus s = sync();
    if (s.ok()) plan_->Written(path_, size_, true);
    return s;
  }

  std::string path_;
  std::shared_ptr<StoreFaults> plan_;
  uint64_t size_ = 0;
  bool frozen_ = false;
};

class FaultFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFileSystem(std::shared_ptr<StoreFaults> plan)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), plan_(std::move(plan)) {}
  const char* Name() const override { return "VaneFaultFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(f, fo, r, dbg);
    if (s.ok()) {
      plan_->Written(f, 0, true);  // a new, empty file
      *r = std::make_unique<FaultFile>(std::move(*r), f, plan_);
    }
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(f, fo, r, dbg);
    if (s.ok()) *r = std::make_unique<FaultFile>(std::move(*r), f, plan_);
    return s;
  }

 private:
  std::shared_ptr<StoreFaults> plan_;
};

}  // namespace

void StoreFaults::FailNextWalWrites(int n) {
  std::lock_guard l(mu_);
  fail_writes_ = n;
}

void StoreFaults::FailNextWalSyncs(int n) {
  std::lock_guard l(mu_);
  fail_syncs_ = n;
}

void StoreFaults::TearNextWalWrite(size_t keep) {
  std::lock_guard l(mu_);
  tear_ = keep;
}

void StoreFaults::SetDiskFull(bool full) {
  std::lock_guard l(mu_);
  full_ = full;
}

uint64_t StoreFaults::injected() const {
  std::lock_guard l(mu_);
  return injected_;
}

StoreFaults::Action StoreFaults::OnAppend(const std::string& file, size_t n, size_t* keep) {
  std::lock_guard l(mu_);
  Action a = Action::kPass;
  if (full_) a = Action::kNoSpace;
  else if (IsWal(file) && fail_writes_ > 0) --fail_writes_, a = Action::kFail;
  else if (IsWal(file) && tear_) *keep = std::min(*tear_, n), tear_.reset(), a = Action::kTear;
  if (a != Action::kPass) ++injected_;
  return a;
}

StoreFaults::Action StoreFaults::OnSync(const std::string& file) {
  std::lock_guard l(mu_);
  Action a = Action::kPass;
  if (full_) a = Action::kNoSpace;
  else if (IsWal(file) && fail_syncs_ > 0) --fail_syncs_, a = Action::kFail;
  if (a != Action::kPass) ++injected_;
  return a;
}

void StoreFaults::Written(const std::string& file, uint64_t size, bool synced) {
  if (!IsWal(file)) return;
  std::lock_guard l(mu_);
  if (synced) synced_[file] = size;
  else synced_.try_emplace(file, 0);
}

void StoreFaults::DropUnsyncedData() {
  std::lock_guard l(mu_);
  for (const auto& [file, synced] : synced_) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec) && std::filesystem::file_size(file, ec) > synced)
      std::filesystem::resize_file(file, synced, ec);
  }
}

namespace store_internal {
std::shared_ptr<rocksdb::FileSystem> NewFaultFileSystem(std::shared_ptr<StoreFaults> plan) {
  return std::make_shared<FaultFileSystem>(std::move(plan));
}
}  // namespace store_internal

}  // namespace vane
