// Format 2's event blocks (include/vane/store/event_block.h): varint-coded batches of events.
#include "vane/store/event_block.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "vane/store/store.h"

namespace vane {
namespace {

enum : uint8_t { kTs = 1, kValue = 2, kItem = 4, kQuery = 8, kAction = 16, kSession = 32, kContext = 64, kKnown = 127 };

void PutVarint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

RawEvent EventView::ToRaw() const {
  RawEvent e;
  e.user = user;
  e.item = item;
  e.query = query;
  e.action = action;
  e.ts = ts;
  e.has_ts = has_ts;
  e.value = value;
  e.has_value = has_value;
  e.session = session;
  e.context = context;
  return e;
}

EventBlockWriter::EventBlockWriter(uint32_t size) : size_(size) {
  buf_.push_back(kEventBlockTag);
  PutVarint(buf_, size);
}

void EventBlockWriter::Add(uint32_t offset, const RawEvent& e) {
  Put(offset, e.user, e.item, e.query, e.action, e.session, e.context, e.has_ts, e.ts, e.has_value, e.value);
}

void EventBlockWriter::Add(const EventView& e) {
  Put(e.offset, e.user, e.item, e.query, e.action, e.session, e.context, e.has_ts, e.ts, e.has_value, e.value);
}

void EventBlockWriter::Put(uint32_t offset, std::string_view user, std::string_view item, std::string_view query,
                           std::string_view action, std::string_view session, std::string_view context, bool has_ts,
                           Timestamp ts, bool has_value, double value) {
  PutVarint(buf_, offset - next_);
  next_ = offset + 1;
  ++entries_;
  uint8_t flags = (has_ts ? kTs : 0) | (has_value ? kValue : 0) | (item.empty() ? 0 : kItem) |
                  (query.empty() ? 0 : kQuery) | (action.empty() ? 0 : kAction) | (session.empty() ? 0 : kSession) |
                  (context.empty() ? 0 : kContext);
  buf_.push_back(static_cast<char>(flags));
  PutString(buf_, user);
  if (flags & kItem) PutString(buf_, item);
  if (flags & kQuery) PutString(buf_, query);
  if (flags & kAction) PutString(buf_, action);
  if (flags & kTs) PutVarint(buf_, ZigZag(ts));
  if (flags & kValue) {
    char b[8];
    std::memcpy(b, &value, 8);  // the host is little-endian (as the snapshots assume, core/binary_io.h)
    buf_.append(b, 8);
  }
  if (flags & kSession) PutString(buf_, session);
  if (flags & kContext) PutString(buf_, context);
}

std::string EncodeEventBlock(std::span<const RawEvent> events) {
  EventBlockWriter w(static_cast<uint32_t>(events.size()));
  size_t bytes = 16;
  for (const RawEvent& e : events) bytes += 8 + e.user.size() + e.item.size() + e.action.size() + e.query.size() +
                                            e.session.size() + e.context.size();
  w.Reserve(bytes);
  for (uint32_t k = 0; k < events.size(); ++k) w.Add(k, events[k]);
  return w.Finish();
}

EventBlockReader::EventBlockReader(uint64_t first, std::string_view value) : first_(first), data_(value) {
  if (!IsEventBlock(value)) {
    Fail("not a format-2 event block");
    return;
  }
  pos_ = 1;
  uint64_t size = 0;
  if (!Varint(size)) return;
  if (size > UINT32_MAX) {
    Fail(fmt::format("a block of {} positions", size));
    return;
  }
  size_ = static_cast<uint32_t>(size);
}

bool EventBlockReader::Fail(std::string_view why) {
  if (status_.ok())
    status_ = Status(StatusCode::kIoError, "store_corrupt",
                     fmt::format("store: the event block at position {} is corrupt ({} at byte {})", first_, why, pos_));
  pos_ = data_.size();
  return false;
}

bool EventBlockReader::Varint(uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return Fail("a number cut off by the end of the block");
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return Fail("a number longer than 10 bytes");
}

bool EventBlockReader::String(std::string_view& s, const char* what) {
  uint64_t n = 0;
  if (!Varint(n)) return false;
  if (n > data_.size() - pos_) return Fail(fmt::format("{} of {} bytes past the end of the block", what, n));
  s = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool EventBlockReader::Next(EventView& e) {
  if (!status_.ok() || pos_ >= data_.size()) return false;
  uint64_t gap = 0;
  if (!Varint(gap)) return false;
  if (gap >= size_ || next_ + gap >= size_) return Fail(fmt::format("an event past the block's {} positions", size_));
  e = EventView{};
  e.offset = static_cast<uint32_t>(next_ + gap);
  next_ = e.offset + 1;
  if (pos_ >= data_.size()) return Fail("an event cut off by the end of the block");
  uint8_t flags = static_cast<uint8_t>(data_[pos_++]);
  if (flags & ~kKnown) return Fail(fmt::format("unknown event flags {:#x}", flags));
  if (!String(e.user, "a user id")) return false;
  if (e.user.empty()) return Fail("an empty user id");
  if ((flags & kItem) && !String(e.item, "an item id")) return false;
  if ((flags & kQuery) && !String(e.query, "a query")) return false;
  if ((flags & kAction) && !String(e.action, "an action")) return false;
  if (flags & kTs) {
    uint64_t z = 0;
    if (!Varint(z)) return false;
    e.ts = UnZigZag(z);
    e.has_ts = true;
  }
  if (flags & kValue) {
    if (data_.size() - pos_ < 8) return Fail("a value cut off by the end of the block");
    std::memcpy(&e.value, data_.data() + pos_, 8);
    if (!std::isfinite(e.value)) return Fail("a value that is not a finite number");  // never written: damage
    pos_ += 8;
    e.has_value = true;
  }
  if ((flags & kSession) && !String(e.session, "a session")) return false;
  if ((flags & kContext) && !String(e.context, "a context")) return false;
  return true;
}

Status ForEachStoredEvent(uint64_t key_seq, std::string_view value,
                          const std::function<void(uint64_t seq, RawEvent&&)>& on_event) {
  if (!IsEventBlock(value)) {  // format 1: one event, as JSON
    VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(key_seq, value));
    on_event(key_seq, std::move(e));
    return Status::Ok();
  }
  EventBlockReader r(key_seq, value);
  EventView v;
  while (r.Next(v)) on_event(key_seq + v.offset, v.ToRaw());
  return r.status();
}

std::string EncodeIndexValue(uint32_t count) {
  std::string out(1, kEventBlockTag);
  PutVarint(out, count);
  return out;
}

}  // namespace vane
