// Store format 2's stored form of a batch of events: one value ("event block") for the events one AppendEvents
// call wrote at positions first, first+1, ..., first+size-1 (up to kMaxBlockEvents of them: a longer batch is
// several blocks), under the key of its first position.
//
// Layout (all integers LEB128 varints unless said otherwise; strings are a varint length and the bytes):
//   byte 0x02 (format 2; a format-1 value is a JSON object and starts with '{'), size (positions the batch took),
//   then one entry per event still present, in position order:
//     gap (positions skipped since the previous entry: events of deleted users; the first entry's offset),
//     flags (one byte: 1 ts, 2 value, 4 item, 8 query, 16 action, 32 session, 64 context),
//     user, [item], [query], [action], [ts: zigzag varint], [value: 8-byte little-endian IEEE double],
//     [session], [context].
// A deletion rewrites the block without the user's entries (the gaps keep every other event at its position) and
// deletes it once no entry is left. The reader never trusts a length: a truncated varint, a string past the end,
// an offset past the block's size, an unknown flag, an empty user id or a value that is not finite fails it with the block's position and the
// byte offset (reason "store_corrupt"), never a crash or a huge allocation. Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

inline constexpr char kEventBlockTag = 0x02;
// A longer batch is stored as several blocks (in one atomic write), so that reading a user's events or rewriting a
// block for a deletion touches a bounded number of other events.
inline constexpr size_t kMaxBlockEvents = 1000;

// An event inside a block, its strings pointing into the block (valid while the block's bytes are).
struct EventView {
  uint32_t offset = 0;  // position - the block's first position
  std::string_view user, item, query, action, session, context;
  Timestamp ts = 0;
  bool has_ts = false;
  double value = 0;
  bool has_value = false;
  RawEvent ToRaw() const;
};

class EventBlockWriter {
 public:
  // A block for `size` positions (the batch's length).
  explicit EventBlockWriter(uint32_t size);
  // REQUIRES: offsets strictly increasing and < size; a non-empty user.
  void Add(uint32_t offset, const RawEvent& e);
  void Add(const EventView& e);
  void Reserve(size_t bytes) { buf_.reserve(bytes); }
  uint32_t entries() const { return entries_; }
  std::string Finish() { return std::move(buf_); }

 private:
  void Put(uint32_t offset, std::string_view user, std::string_view item, std::string_view query,
           std::string_view action, std::string_view session, std::string_view context, bool has_ts, Timestamp ts,
           bool has_value, double value);
  std::string buf_;
  uint32_t size_, next_ = 0, entries_ = 0;
};

// The block of a whole batch: every event at its offset.
std::string EncodeEventBlock(std::span<const RawEvent> events);

class EventBlockReader {
 public:
  // `first`: the block's key (its first position), for the messages.
  EventBlockReader(uint64_t first, std::string_view value);
  uint32_t size() const { return size_; }
  // The next entry; false at the end or on damage (then status() says where).
  bool Next(EventView& e);
  const Status& status() const { return status_; }

 private:
  bool Fail(std::string_view why);
  bool Varint(uint64_t& v);
  bool String(std::string_view& s, const char* what);
  uint64_t first_;
  std::string_view data_;
  size_t pos_ = 0;
  uint32_t size_ = 0;
  uint64_t next_ = 0;  // the smallest offset the next entry may have
  Status status_;
};

inline bool IsEventBlock(std::string_view value) { return !value.empty() && value[0] == kEventBlockTag; }

// Every event a value of the events family holds, in position order: a format-2 block under the key of its first
// position, or a format-1 event (JSON, one per position) under its own. The Status names the position of damage.
Status ForEachStoredEvent(uint64_t key_seq, std::string_view value,
                          const std::function<void(uint64_t seq, RawEvent&&)>& on_event);

// The per-user index of format 2: one entry per (user, block), key "user \0 block's first position" (as format 1's
// per-event key), value kEventBlockTag and a varint count of the user's events in the block when written. Format
// 1's entries (one per event) have an empty value.
std::string EncodeIndexValue(uint32_t count);

}  // namespace vane
