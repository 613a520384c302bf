#include "vane/serve/store.h"

#include <rocksdb/db.h>

#include <filesystem>
#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/events/import.h"

namespace vane {
namespace {

using json = nlohmann::json;

std::string SeqKey(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

uint64_t SeqFromKey(std::string_view k) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < k.size(); ++i) v = (v << 8) | static_cast<unsigned char>(k[i]);
  return v;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Status::IoError(fmt::format("store: {}: {}", what, s.ToString()));
}

// A stored event (JSON) read back; a value that does not parse is corruption, named by its sequence number.
Result<RawEvent> ParseStoredEvent(uint64_t seq, std::string_view value) {
  json j = json::parse(value, nullptr, false);
  RawEvent e;
  std::string field, err;
  if (j.is_discarded() || !RawEventFromJson(j, e, field, err))
    return Status::IoError(fmt::format("store: event {} is corrupt ({} {})", seq, field, err));
  return e;
}

// The value at `key` in column family `cf`; nullopt when absent or unreadable.
std::optional<std::string> GetValue(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  std::string v;
  if (!db.Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &v).ok()) return std::nullopt;
  return v;
}

}  // namespace

struct Store::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;  // default, events, user_events, items, users
  rocksdb::WriteOptions sync_write;
  ~Impl() {
    for (auto* h : cf)
      if (db && h) db->DestroyColumnFamilyHandle(h);
  }
  rocksdb::ColumnFamilyHandle* events() const { return cf[1]; }
  rocksdb::ColumnFamilyHandle* user_events() const { return cf[2]; }
  rocksdb::ColumnFamilyHandle* items() const { return cf[3]; }
  rocksdb::ColumnFamilyHandle* users() const { return cf[4]; }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, size_t memtable_mb, size_t block_cache_mb) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // RocksDB creates the last level only
  if (ec) return Status::IoError(fmt::format("store: cannot create {}: {}", dir, ec.message()));
  rocksdb::Options opt;
  opt.create_if_missing = true;
  opt.create_missing_column_families = true;
  opt.IncreaseParallelism(2);
  opt.db_write_buffer_size = memtable_mb << 20;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(block_cache_mb << 20);
  table.cache_index_and_filter_blocks = true;
  rocksdb::ColumnFamilyOptions cf_opt;
  cf_opt.write_buffer_size = std::max<size_t>(4, memtable_mb / 4) << 20;
  cf_opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, cf_opt},
      {"events", cf_opt},
      {"user_events", cf_opt},
      {"items", cf_opt},
      {"users", cf_opt}};
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(opt, dir, cfs, &impl->cf, &raw);
  if (!s.ok()) return Status::IoError(fmt::format("store: cannot open {}: {}", dir, s.ToString()));
  impl->db.reset(raw);
  impl->sync_write.sync = true;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::string Store::EventToJson(const RawEvent& e) {
  json j = {{"user", e.user}};
  if (!e.item.empty()) j["item"] = e.item;
  if (!e.query.empty()) j["query"] = e.query;
  if (!e.action.empty()) j["action"] = e.action;
  if (e.has_ts) j["ts"] = e.ts;
  if (e.has_value) j["value"] = e.value;
  if (!e.session.empty()) j["session"] = e.session;
  if (!e.context.empty()) j["context"] = e.context;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Store::ItemToJson(const Item& it) {
  json j = {{"id", it.id}, {"type", it.type}};
  if (!it.title.empty()) j["title"] = it.title;
  if (!it.text.empty()) j["text"] = it.text;
  if (!it.categories.empty()) j["categories"] = it.categories;
  if (!it.attributes.empty()) {
    json a = json::object();
    for (const auto& [k, v] : it.attributes) a[k] = v;
    j["attributes"] = a;
  }
  j["available"] = it.available;
  if (it.created) j["created"] = it.created;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status Store::AppendEvents(uint64_t first_seq, const std::vector<RawEvent>& events) {
  if (events.empty()) return Status::Ok();
  rocksdb::WriteBatch batch;
  uint64_t seq = first_seq;
  for (const RawEvent& e : events) {
    std::string key = SeqKey(seq++);
    batch.Put(impl_->events(), key, EventToJson(e));
    batch.Put(impl_->user_events(), e.user + std::string(1, '\0') + key, "");
  }
  return FromRocks(impl_->db->Write(impl_->sync_write, &batch), "appending events");
}

Status Store::PutItem(const Item& item) {
  return FromRocks(impl_->db->Put(impl_->sync_write, impl_->items(), item.id, ItemToJson(item)), "writing an item");
}

Status Store::DeleteItem(std::string_view id) {
  return FromRocks(impl_->db->Delete(impl_->sync_write, impl_->items(), rocksdb::Slice(id.data(), id.size())),
                   "deleting an item");
}

Status Store::PutUser(std::string_view id, std::string_view record) {
  return FromRocks(impl_->db->Put(impl_->sync_write, impl_->users(), rocksdb::Slice(id.data(), id.size()),
                                  rocksdb::Slice(record.data(), record.size())),
                   "writing a user");
}

Status Store::PutMeta(std::string_view key, std::string_view value) {
  return FromRocks(impl_->db->Put(impl_->sync_write, impl_->cf[0], rocksdb::Slice(key.data(), key.size()),
                                  rocksdb::Slice(value.data(), value.size())),
                   "writing store settings");
}

std::optional<std::string> Store::GetMeta(std::string_view key) const { return GetValue(*impl_->db, impl_->cf[0], key); }

std::optional<std::string> Store::GetUser(std::string_view id) const { return GetValue(*impl_->db, impl_->users(), id); }

Result<uint64_t> Store::DeleteUser(std::string_view user) {
  std::string prefix = std::string(user) + std::string(1, '\0');
  rocksdb::WriteBatch batch;
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->user_events()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view seq_key(k.data() + prefix.size(), k.size() - prefix.size());
    batch.Delete(impl_->events(), rocksdb::Slice(seq_key.data(), seq_key.size()));
    batch.Delete(impl_->user_events(), k);
    ++n;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading a user's events");
  batch.Delete(impl_->users(), rocksdb::Slice(user.data(), user.size()));
  VANE_RETURN_IF_ERROR(FromRocks(impl_->db->Write(impl_->sync_write, &batch), "deleting a user's events"));
  return n;
}

Result<std::vector<std::pair<uint64_t, RawEvent>>> Store::UserEvents(std::string_view user, size_t limit) const {
  std::vector<std::pair<uint64_t, RawEvent>> out;
  std::string prefix = std::string(user) + std::string(1, '\0');
  std::string end = std::string(user) + std::string(1, '\1');  // just past every key of the user
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->user_events()));
  std::string value;
  for (it->SeekForPrev(end); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    std::string_view seq_key(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->events(),
                                       rocksdb::Slice(seq_key.data(), seq_key.size()), &value);
    if (s.IsNotFound()) continue;
    VANE_RETURN_IF_ERROR(FromRocks(s, "reading a user's event"));
    uint64_t seq = SeqFromKey(seq_key);
    auto e = ParseStoredEvent(seq, value);
    if (!e.ok()) return e.status();
    out.emplace_back(seq, std::move(e.value()));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading a user's events");
  return out;
}

Result<uint64_t> Store::Load(const std::function<void(Item&&)>& on_item,
                             const std::function<void(uint64_t, RawEvent&&)>& on_event) const {
  std::string field, err;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->items()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      json j = json::parse(it->value().ToStringView(), nullptr, false);
      Item item;
      if (j.is_discarded() || !ItemFromJson(j, item, field, err))
        return Status::IoError(fmt::format("store: item {} is corrupt ({} {})", it->key().ToString(), field, err));
      on_item(std::move(item));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading items");
  }
  uint64_t next = 0;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->events()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq = SeqFromKey(it->key().ToStringView());
    auto e = ParseStoredEvent(seq, it->value().ToStringView());
    if (!e.ok()) return e.status();
    on_event(seq, std::move(e.value()));
    next = seq + 1;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading events");
  return next;
}

uint64_t Store::ApproximateBytes() const {
  uint64_t total = 0, v = 0;
  for (auto* h : impl_->cf)
    if (impl_->db->GetIntProperty(h, "rocksdb.estimate-live-data-size", &v)) total += v;
  return total;
}

}  // namespace vane
