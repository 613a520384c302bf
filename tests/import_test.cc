#include "vane/events/cleaner.h"
#include "vane/events/csv.h"
#include "vane/events/ids.h"
#include "vane/events/iso8601.h"
#include "vane/events/json_records.h"
#include "vane/events/jsonl.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"
#include <nlohmann/json.hpp>

namespace vane {
namespace {

const std::string kFix = std::string(VANE_FIXTURES) + "/import/";

Dataset Ecommerce() {
  Dataset ds;
  ds.actions = ActionRegistry::Preset("ecommerce").value();
  return ds;
}

ImportOptions Quiet() {
  ImportOptions o;
  o.progress = false;
  return o;
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/vane_import_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Every record read is accounted for exactly once.
void ExpectCountsAddUp(const ImportReport& r) {
  EXPECT_EQ(r.accepted + r.rejected + r.duplicates, r.records_read)
      << "accepted " << r.accepted << " rejected " << r.rejected << " duplicates " << r.duplicates;
  uint64_t by_reason = 0;
  for (const auto& [k, n] : r.rejected_by_reason) by_reason += n;
  EXPECT_EQ(by_reason, r.rejected);
}

const ImportIssue* FindIssue(const ImportReport& r, uint64_t line) {
  for (const auto& is : r.issues)
    if (is.line == line) return &is;
  return nullptr;
}

constexpr auto Ev = testing::RawEv;

// EventCleaner ------------------------------------------------------------------------------------------------

TEST(ActionRegistryTest, JsonRoundTripOfEveryPresetAndNamedErrors) {
  for (const auto& name : ActionRegistry::PresetNames()) {
    ActionRegistry a = ActionRegistry::Preset(name).value();
    auto b = ActionRegistry::FromJson(a.ToJson());
    ASSERT_TRUE(b.ok()) << name << ": " << b.status().ToString();
    ASSERT_EQ(b->size(), a.size()) << name;
    for (ActionId i = 0; i < a.size(); ++i) {
      const ActionSpec &x = a.spec(i), &y = b->spec(i);
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.weight, y.weight);
      EXPECT_EQ(x.consumes, y.consumes);
      EXPECT_EQ(x.is_search, y.is_search);
      EXPECT_EQ(x.value_kind, y.value_kind);
      EXPECT_EQ(x.aliases, y.aliases);
      for (float v : {0.0f, 2.0f, 4.5f, 120.0f}) EXPECT_EQ(a.EffectiveWeight(i, v, true), b->EffectiveWeight(i, v, true));
    }
    EXPECT_EQ(a.search_action(), b->search_action()) << name;
  }
  auto bad = ActionRegistry::FromJson(R"({"actions":[{"name":"view","weight":1},{"name":"x","weight":"heavy"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("actions[1].weight"), std::string::npos) << bad.status().ToString();
}

TEST(EventCleanerTest, AcceptsAndInterns) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  EventCleaner c(ds, opt, r);
  RawEvent e = Ev("u1", "i1", "pv", 100);
  e.session = "s1";
  ASSERT_TRUE(c.Add(e, "mem", 1).ok());
  ASSERT_EQ(ds.events.size(), 1u);
  EXPECT_EQ(ds.actions.spec(ds.events[0].action).name, "view");  // alias
  EXPECT_EQ(ds.users.Name(ds.events[0].user.v), "u1");
  EXPECT_EQ(ds.catalog.item(ds.events[0].item).id, "i1");
  EXPECT_EQ(ds.sessions.Name(ds.events[0].session), "s1");
  EXPECT_EQ(ds.events[0].ts, 100);
  EXPECT_EQ(r.items_created, 1u);
  EXPECT_EQ(r.accepted, 1u);
  ExpectCountsAddUp(r);
}

// One id rule (events/ids.h) for users, items and sessions, whatever the reader.
TEST(EventCleanerTest, IdsFollowTheOneIdRule) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  EventCleaner c(ds, opt, r);
  RawEvent bad_session = Ev("u", "i", "view", 1500);
  bad_session.session = "s\x1f" "1";
  const std::vector<std::pair<RawEvent, const char*>> refused = {
      {Ev("a/b", "i", "view", 1500), "user"},
      {Ev(std::string("victim\0x", 8), "i", "view", 1500), "user"},
      {Ev(std::string(kMaxIdBytes + 1, 'u'), "i", "view", 1500), "user"},
      {Ev("u", "i\tj", "view", 1500), "item"},
      {Ev("u", "i\x7f", "view", 1500), "item"},
      {bad_session, "session"},
  };
  for (const auto& [e, field] : refused) {
    Status check = c.Check(e);
    Status s = c.Add(e, "mem", 1);
    EXPECT_EQ(s.field(), field);
    EXPECT_NE(s.message().find("bad id"), std::string::npos) << s.message();
    EXPECT_EQ(check.field(), s.field()) << "Check gives what Add gives";
    EXPECT_EQ(check.message(), s.message());
  }
  EXPECT_EQ(r.rejected, refused.size());
  for (const std::string& id : {std::string(kMaxIdBytes, 'u'), std::string("用户 one?#%+"), std::string("ünï:cöde")}) {
    EXPECT_TRUE(c.Check(Ev(id, id, "view", 1500)).ok()) << id;
    EXPECT_TRUE(c.Add(Ev(id, id, "view", 1500), "mem", 2).ok()) << id;
  }
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(CheckId("id", "").reason(), "bad_id");
  // The items file follows the same rule.
  Dataset items = Ecommerce();
  ImportReport ir;
  ASSERT_TRUE(ImportItemsJsonl(WriteTemp("bad_ids.jsonl", "{\"id\":\"ok\"}\n{\"id\":\"a/b\"}\n"), Quiet(), items, ir).ok());
  EXPECT_EQ(ir.accepted, 1u);
  ASSERT_EQ(ir.issues.size(), 1u);
  EXPECT_EQ(ir.issues[0].field, "id");
  EXPECT_EQ(ir.issues[0].line, 2u);
  ExpectCountsAddUp(ir);
}

TEST(EventCleanerTest, RejectsWithFieldNames) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.min_ts = 1000;
  opt.max_ts = 2000;
  EventCleaner c(ds, opt, r);
  struct Case {
    RawEvent e;
    const char* field;
    const char* reason_part;
  };
  RawEvent bad_user_utf8 = Ev("u\xff", "i", "view", 1500);
  RawEvent bad_item_utf8 = Ev("u", "\xc3(", "view", 1500);
  RawEvent bad_query_utf8 = Ev("u", "", "search", 1500);
  bad_query_utf8.query = "shoe\xe4";
  RawEvent nan = Ev("u", "i", "view", 1500);
  nan.value = std::nan("");
  nan.has_value = true;
  RawEvent inf = Ev("u", "i", "dwell", 1500);
  inf.value = std::numeric_limits<double>::infinity();
  inf.has_value = true;
  RawEvent neg_dwell = Ev("u", "i", "dwell", 1500);
  neg_dwell.value = -3;
  neg_dwell.has_value = true;
  RawEvent bad_rating = Ev("u", "i", "rating", 1500);
  bad_rating.value = 10.5;
  bad_rating.has_value = true;
  RawEvent neg_rating = bad_rating;
  neg_rating.value = -1;
  RawEvent neg_qty = Ev("u", "i", "purchase", 1500);
  neg_qty.value = -2;
  neg_qty.has_value = true;
  std::vector<Case> cases = {
      {Ev("", "i", "view", 1500), "user", "missing"},
      {bad_user_utf8, "user", "invalid UTF-8"},
      {bad_item_utf8, "item", "invalid UTF-8"},
      {bad_query_utf8, "query", "invalid UTF-8"},
      {Ev("u", "i", "", 1500), "action", "missing"},
      {Ev("u", "i", "teleport", 1500), "action", "unknown action"},
      {Ev("u", "", "view", 1500), "item", "missing"},
      {Ev("u", "i", "search", 1500), "query", "missing"},
      {Ev("u", "i", "view", 999), "ts", "out of range"},
      {Ev("u", "i", "view", 2001), "ts", "out of range"},
      {nan, "value", "not a finite number"},
      {inf, "value", "not a finite number"},
      {neg_dwell, "value", "negative dwell"},
      {bad_rating, "value", "rating out of range"},
      {neg_rating, "value", "rating out of range"},
      {neg_qty, "value", "negative quantity"},
  };
  uint64_t line = 0;
  for (const Case& k : cases) {
    ++line;
    Status s = c.Add(k.e, "mem", line);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << k.field << " " << k.reason_part;
    // The Status names the field and the reason, as the report does.
    EXPECT_EQ(s.field(), k.field);
    EXPECT_NE(s.message().find(k.reason_part), std::string::npos) << s.message();
    ASSERT_EQ(r.issues.size(), line);
    EXPECT_EQ(r.issues.back().field, k.field);
    EXPECT_NE(r.issues.back().reason.find(k.reason_part), std::string::npos) << r.issues.back().reason;
    EXPECT_EQ(r.issues.back().line, line);
    EXPECT_EQ(r.issues.back().file, "mem");
  }
  EXPECT_EQ(r.rejected, cases.size());
  EXPECT_EQ(r.accepted, 0u);
  // Rejected records leave nothing behind.
  EXPECT_EQ(ds.num_users(), 0u);
  EXPECT_EQ(ds.num_items(), 0u);
  EXPECT_TRUE(ds.events.empty());
  EXPECT_EQ(r.rejected_by_reason.at("action: unknown action"), 1u);
  EXPECT_EQ(r.rejected_by_reason.at("ts: out of range"), 2u);
  EXPECT_EQ(r.rejected_by_reason.at("value: rating out of range"), 2u);
  ExpectCountsAddUp(r);
}

TEST(EventCleanerTest, DwellClipAndRatingBounds) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.max_dwell_seconds = 600;
  EventCleaner c(ds, opt, r);
  RawEvent d = Ev("u", "i", "dwell", 10);
  d.value = 5000;
  d.has_value = true;
  ASSERT_TRUE(c.Add(d, "mem", 1).ok());
  EXPECT_FLOAT_EQ(ds.events.back().value, 600);
  EXPECT_TRUE(ds.events.back().has_value);
  EXPECT_EQ(r.clipped, 1u);
  d.value = 0;  // zero dwell is valid
  d.ts = 11;
  ASSERT_TRUE(c.Add(d, "mem", 2).ok());
  RawEvent no_value = Ev("u", "i", "dwell", 12);  // missing dwell stays missing (base weight)
  ASSERT_TRUE(c.Add(no_value, "mem", 3).ok());
  EXPECT_FALSE(ds.events.back().has_value);
  RawEvent rating = Ev("u", "i", "rating", 13);
  rating.value = 10;  // twice the 5-point scale is the tolerated limit
  rating.has_value = true;
  ASSERT_TRUE(c.Add(rating, "mem", 4).ok());
  EXPECT_EQ(r.accepted, 4u);
  EXPECT_EQ(r.filled, 0u);
  ExpectCountsAddUp(r);
}

TEST(EventCleanerTest, MissingTimestampFilled) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.min_ts = 500;
  EventCleaner c(ds, opt, r);
  RawEvent e = Ev("u1", "i1", "view", 0);
  e.has_ts = false;
  ASSERT_TRUE(c.Add(e, "mem", 1).ok());
  EXPECT_EQ(ds.events.back().ts, 500);  // no earlier event: min_ts
  ASSERT_TRUE(c.Add(Ev("u1", "i2", "view", 900), "mem", 2).ok());
  e.item = "i3";
  ASSERT_TRUE(c.Add(e, "mem", 3).ok());
  EXPECT_EQ(ds.events.back().ts, 901);  // previous event of the user + 1 s
  e.user = "u2";
  ASSERT_TRUE(c.Add(e, "mem", 4).ok());
  EXPECT_EQ(ds.events.back().ts, 500);
  EXPECT_EQ(r.filled, 3u);
  EXPECT_EQ(r.accepted, 4u);
  ExpectCountsAddUp(r);
}

TEST(EventCleanerTest, Duplicates) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  EventCleaner c(ds, opt, r);
  RawEvent e = Ev("u1", "i1", "view", 100);
  ASSERT_TRUE(c.Add(e, "mem", 1).ok());
  ASSERT_TRUE(c.Add(e, "mem", 2).ok());
  RawEvent pv = e;
  pv.action = "PV";  // an alias of the same action: the same event
  ASSERT_TRUE(c.Add(pv, "mem", 3).ok());
  RawEvent later = e;
  later.ts = 101;
  ASSERT_TRUE(c.Add(later, "mem", 4).ok());
  RawEvent valued = e;
  valued.value = 1;
  valued.has_value = true;
  ASSERT_TRUE(c.Add(valued, "mem", 5).ok());
  EXPECT_EQ(r.duplicates, 2u);
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(ds.events.size(), 3u);
  ExpectCountsAddUp(r);

  Dataset ds2 = Ecommerce();
  ImportReport r2;
  opt.dedup = false;
  EventCleaner c2(ds2, opt, r2);
  ASSERT_TRUE(c2.Add(e, "mem", 1).ok());
  ASSERT_TRUE(c2.Add(e, "mem", 2).ok());
  EXPECT_EQ(r2.duplicates, 0u);
  EXPECT_EQ(ds2.events.size(), 2u);
}

TEST(EventCleanerTest, DuplicatesWithinTheInMemoryWindow) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  EventCleaner c(ds, opt, r);
  for (int t = 0; t < 10; ++t) ASSERT_TRUE(c.Add(Ev("u1", "i1", "view", 100 + t), "mem", t).ok());
  ds.DropOldEvents(4);  // events 0..5 leave memory
  c.ForgetDropped();
  EXPECT_EQ(ds.events_base, 6u);
  ASSERT_EQ(ds.events.size(), 4u);
  EXPECT_EQ(ds.events.front().ts, 106);
  ASSERT_TRUE(c.Add(Ev("u1", "i1", "view", 108), "mem", 10).ok());  // still in memory: a duplicate
  EXPECT_EQ(r.duplicates, 1u);
  ASSERT_TRUE(c.Add(Ev("u1", "i1", "view", 102), "mem", 11).ok());  // dropped long ago: stored again
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(ds.events.size(), 5u);
  ASSERT_TRUE(c.Add(Ev("u1", "i1", "view", 102), "mem", 12).ok());  // and now recognised again
  EXPECT_EQ(r.duplicates, 2u);
  ExpectCountsAddUp(r);
}

TEST(EventCleanerTest, SearchEvents) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  EventCleaner c(ds, opt, r);
  RawEvent s = Ev("u1", "", "search", 100);
  s.query = "  Red  SHOES ";
  ASSERT_TRUE(c.Add(s, "mem", 1).ok());
  const Event& e = ds.events.back();
  EXPECT_FALSE(e.item.valid());
  ASSERT_NE(e.query, kNoQuery);
  EXPECT_EQ(ds.queries.Name(e.query), "red shoes");
  RawEvent blank = s;
  blank.query = "   ";
  EXPECT_FALSE(c.Add(blank, "mem", 2).ok());
  EXPECT_EQ(r.issues.back().field, "query");
  ExpectCountsAddUp(r);
}

TEST(EventCleanerTest, FailModeStatusNamesFileLineField) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.on_error = OnError::kFail;
  EventCleaner c(ds, opt, r);
  RawEvent d = Ev("u", "i", "dwell", 100);
  d.value = -1;
  d.has_value = true;
  Status s = c.Add(d, "clicks.csv", 3);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.field(), "value");
  EXPECT_EQ(s.message(), "negative dwell: -1");
  // A reader stopping on it names the file and line.
  Status located = AtRecord(s, "clicks.csv", 3);
  EXPECT_EQ(located.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(located.field(), "value");
  EXPECT_EQ(located.message(), "clicks.csv:3: value: negative dwell: -1");
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.rejected, 1u);
  ExpectCountsAddUp(r);
}

// CSV ---------------------------------------------------------------------------------------------------------

TEST(ImportCsvTest, FixtureCountsAndValues) {
  Dataset ds = Ecommerce();
  ImportReport r;
  CsvMapping m;
  ASSERT_TRUE(ImportEventsCsv(kFix + "events.csv", m, Quiet(), ds, r).ok());
  EXPECT_EQ(r.records_read, 15u);
  EXPECT_EQ(r.accepted, 7u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.rejected, 7u);
  EXPECT_EQ(r.filled, 1u);
  EXPECT_EQ(r.clipped, 1u);
  EXPECT_EQ(r.items_created, 5u);
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.events.size(), 7u);
  EXPECT_EQ(ds.num_users(), 4u);  // u1, u2, u3, u5
  EXPECT_TRUE(ds.catalog.Find("i3,with comma").has_value());  // quoted delimiter
  EXPECT_FLOAT_EQ(ds.events[2].value, 4 * 3600);                // clipped dwell
  EXPECT_EQ(ds.events[4].ts, 1700000031);                       // filled: previous u2 event + 1
  ASSERT_NE(ds.events[5].query, kNoQuery);
  EXPECT_EQ(ds.queries.Name(ds.events[5].query), "red \"shoes\"");  // doubled quotes
  EXPECT_EQ(ds.sessions.size(), 2u);
  EXPECT_FLOAT_EQ(ds.events[6].value, 4.5f);

  struct Want {
    uint64_t line;
    const char* field;
    const char* reason;
  };
  for (const Want& w : std::vector<Want>{{9, "user", "missing"},
                                         {10, "action", "unknown action: 'teleport'"},
                                         {11, "ts", "out of range"},
                                         {12, "value", "negative dwell"},
                                         {13, "record", "wrong field count: expected 7 fields, got 5"},
                                         {14, "item", "missing"},
                                         {15, "value", "rating out of range"}}) {
    const ImportIssue* is = FindIssue(r, w.line);
    ASSERT_NE(is, nullptr) << "line " << w.line;
    EXPECT_EQ(is->field, w.field) << "line " << w.line;
    EXPECT_NE(is->reason.find(w.reason), std::string::npos) << is->reason;
    EXPECT_NE(is->file.find("events.csv"), std::string::npos);
  }
}

TEST(ImportCsvTest, FailModeStopsAtFirstBadRecord) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.on_error = OnError::kFail;
  Status s = ImportEventsCsv(kFix + "events.csv", CsvMapping(), opt, ds, r);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("events.csv:9: user: missing"), std::string::npos) << s.message();
  EXPECT_EQ(r.records_read, 8u);
  EXPECT_EQ(r.accepted, 6u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.rejected, 1u);
  ExpectCountsAddUp(r);
}

TEST(ImportCsvTest, NoHeaderIndexMappingIsoTimesMultilineQuotes) {
  Dataset ds = Ecommerce();
  ImportReport r;
  CsvMapping m;
  m.delimiter = ';';
  m.has_header = false;
  // Columns by index (std::string(1, c): GCC 12 warns falsely on assigning one-character literals, PR 105329).
  m.user = std::string(1, '0');
  m.item = std::string(1, '1');
  m.ts = std::string(1, '2');
  m.context = std::string(1, '3');
  m.default_action = "view";
  m.time_format = CsvMapping::TimeFormat::kIso8601;
  ASSERT_TRUE(ImportEventsCsv(kFix + "semicolon_iso.csv", m, Quiet(), ds, r).ok());
  EXPECT_EQ(r.records_read, 3u);
  ASSERT_EQ(r.accepted, 3u) << (r.issues.empty() ? "" : r.issues[0].reason);
  EXPECT_EQ(ds.events[0].ts, 1714564800);
  EXPECT_EQ(ds.events[1].ts, 1714568400);  // 14:00+01:00
  EXPECT_EQ(ds.events[2].ts, 1714521600);  // date only: midnight UTC
  EXPECT_EQ(ds.catalog.item(ds.events[1].item).id, "i2");
}

TEST(ImportCsvTest, MissingColumnsFailAtOpen) {
  Dataset ds = Ecommerce();
  ImportReport r;
  std::string p = WriteTemp("nouser.csv", "who,item,action\na,b,view\n");
  Status s = ImportEventsCsv(p, CsvMapping(), Quiet(), ds, r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("user column 'user' not found"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'who'"), std::string::npos) << s.message();

  p = WriteTemp("noaction.csv", "user,item\na,b\n");
  s = ImportEventsCsv(p, CsvMapping(), Quiet(), ds, r);
  EXPECT_NE(s.message().find("action column"), std::string::npos) << s.message();

  CsvMapping m;
  m.ts = "time";  // a chosen name must exist
  p = WriteTemp("nots.csv", "user,item,action\na,b,view\n");
  s = ImportEventsCsv(p, m, Quiet(), ds, r);
  EXPECT_NE(s.message().find("ts column 'time' not found"), std::string::npos) << s.message();

  m = CsvMapping();
  m.default_action = "click";
  ASSERT_TRUE(ImportEventsCsv(p, m, Quiet(), ds, r).ok());  // default ts column absent: filled
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.filled, 1u);

  s = ImportEventsCsv(::testing::TempDir() + "/no/such/file.csv", CsvMapping(), Quiet(), ds, r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.records_read, 1u);
}

TEST(ImportCsvTest, BadUtf8MillisAndUnterminatedQuote) {
  Dataset ds = Ecommerce();
  ImportReport r;
  CsvMapping m;
  m.time_format = CsvMapping::TimeFormat::kUnixMillis;
  std::string p = WriteTemp("bytes.csv",
                            "user,item,action,ts\r\n"
                            "u1,i1,view,1700000000123\r\n"
                            "u\xff,i1,view,1700000000000\r\n"
                            "u2,caf\xe9,view,1700000000000\r\n"
                            "u2,i1,view,soon\r\n"
                            "\r\n"
                            "u3,\"open,view,1\r\n");
  ASSERT_TRUE(ImportEventsCsv(p, m, Quiet(), ds, r).ok());
  EXPECT_EQ(r.records_read, 5u);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(ds.events[0].ts, 1700000000);
  ASSERT_EQ(r.issues.size(), 4u);
  EXPECT_EQ(r.issues[0].field, "user");
  EXPECT_EQ(r.issues[0].reason.substr(0, 13), "invalid UTF-8");
  EXPECT_EQ(r.issues[0].line, 3u);
  EXPECT_EQ(r.issues[1].field, "item");
  EXPECT_EQ(r.issues[2].field, "ts");
  EXPECT_EQ(r.issues[3].field, "record");
  EXPECT_EQ(r.issues[3].reason, "unterminated quote");
  EXPECT_EQ(r.issues[3].line, 7u);
  ExpectCountsAddUp(r);
  // The report stays valid UTF-8 (JSON) even though the input was not.
  nlohmann::json j = nlohmann::json::parse(r.ToJson(), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["rejected"], 4);
}

TEST(ImportCsvTest, ByteOrderMarkAndBlankLines) {
  Dataset ds = Ecommerce();
  ImportReport r;
  std::string p = WriteTemp("bom.csv", "\xEF\xBB\xBFuser,item,action\n\nu1,i1,view\n   \nu1,i2,click");
  ASSERT_TRUE(ImportEventsCsv(p, CsvMapping(), Quiet(), ds, r).ok());
  EXPECT_EQ(r.records_read, 2u);  // blank lines are not records; the last line needs no newline
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.filled, 2u);
}

TEST(ImportCsvTest, MaxEventsStopsEarly) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.max_events = 3;
  ASSERT_TRUE(ImportEventsCsv(kFix + "events.csv", CsvMapping(), opt, ds, r).ok());
  EXPECT_EQ(ds.events.size(), 3u);
  EXPECT_EQ(r.records_read, 3u);
}

TEST(SplitCsvTest, Rfc4180) {
  std::vector<std::string> f;
  ASSERT_TRUE(SplitCsv("a,\"b,c\",\"say \"\"hi\"\"\",,", ',', f));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "say \"hi\"");
  EXPECT_EQ(f[3], "");
  EXPECT_EQ(f[4], "");
  EXPECT_FALSE(SplitCsv("a,\"open", ',', f));
  ASSERT_TRUE(SplitCsv("a,\"open\nline\"", ',', f));
  EXPECT_EQ(f[1], "open\nline");
  ASSERT_TRUE(SplitCsv("x\ty", '\t', f));
  EXPECT_EQ(f.size(), 2u);
}

// JSONL -------------------------------------------------------------------------------------------------------

TEST(ImportJsonlTest, EventsWithWrongTypes) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ASSERT_TRUE(ImportEventsJsonl(kFix + "events.jsonl", Quiet(), ds, r).ok());
  EXPECT_EQ(r.records_read, 11u);  // the blank line is not a record
  EXPECT_EQ(r.accepted, 5u);
  EXPECT_EQ(r.rejected, 6u);
  EXPECT_EQ(r.filled, 1u);
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.events.size(), 5u);
  EXPECT_EQ(ds.events[1].ts, 1700000010);  // ISO string
  const Event& buy = ds.events[2];
  EXPECT_EQ(ds.users.Name(buy.user.v), "42");  // numeric ids become strings
  EXPECT_EQ(ds.catalog.item(buy.item).id, "7");
  EXPECT_EQ(ds.actions.spec(buy.action).name, "purchase");
  EXPECT_FLOAT_EQ(buy.value, 2);
  EXPECT_EQ(ds.sessions.Name(buy.session), "s9");
  EXPECT_EQ(ds.queries.Name(ds.events[3].query), "运动鞋 红色");
  EXPECT_EQ(ds.events[4].ts, 0);  // filled: min_ts

  struct Want {
    uint64_t line;
    const char* field;
    const char* reason;
  };
  for (const Want& w : std::vector<Want>{{5, "ts", "got object"},
                                         {6, "value", "expected a number, got string"},
                                         {7, "user", "got array"},
                                         {8, "record", "not valid JSON"},
                                         {9, "record", "expected a JSON object, got array"},
                                         {12, "ts", "not a time: 'yesterday'"}}) {
    const ImportIssue* is = FindIssue(r, w.line);
    ASSERT_NE(is, nullptr) << "line " << w.line;
    EXPECT_EQ(is->field, w.field) << "line " << w.line;
    EXPECT_NE(is->reason.find(w.reason), std::string::npos) << is->reason;
  }
}

TEST(ImportJsonlTest, FailModeAndBadUtf8) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ImportOptions opt = Quiet();
  opt.on_error = OnError::kFail;
  Status s = ImportEventsJsonl(kFix + "events.jsonl", opt, ds, r);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("events.jsonl:5: ts: wrong type"), std::string::npos) << s.message();
  ExpectCountsAddUp(r);

  std::string p = WriteTemp("bad.jsonl", "{\"user\":\"u\xff\",\"item\":\"i\",\"action\":\"view\"}\n");
  ImportReport r2;
  ASSERT_TRUE(ImportEventsJsonl(p, Quiet(), ds, r2).ok());
  ASSERT_EQ(r2.issues.size(), 1u);
  EXPECT_EQ(r2.issues[0].field, "record");
  EXPECT_EQ(r2.issues[0].reason, "invalid UTF-8");
}

TEST(ImportJsonlTest, Items) {
  Dataset ds = Ecommerce();
  ImportReport r;
  ASSERT_TRUE(ImportItemsJsonl(kFix + "items.jsonl", Quiet(), ds, r).ok());
  EXPECT_EQ(r.records_read, 10u);
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(r.rejected, 7u);
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.num_items(), 3u);
  const Item& i1 = ds.catalog.item(*ds.catalog.Find("i1"));
  EXPECT_EQ(i1.type, "product");
  EXPECT_EQ(i1.title, "Red running shoes");
  EXPECT_EQ(i1.text, "light");
  EXPECT_EQ(i1.categories, (std::vector<std::string>{"shoes", "sport"}));
  ASSERT_EQ(i1.attributes.size(), 2u);
  EXPECT_EQ(i1.attributes[0], (std::pair<std::string, std::string>{"brand", "Acme"}));
  EXPECT_EQ(i1.attributes[1], (std::pair<std::string, std::string>{"price", "59.9"}));
  EXPECT_FALSE(i1.available);
  EXPECT_EQ(i1.created, 1704153600);
  const Item& i2 = ds.catalog.item(*ds.catalog.Find("i2"));
  EXPECT_EQ(i2.type, "item");
  EXPECT_EQ(i2.created, 1700000000);
  EXPECT_FALSE(ds.catalog.keywords(*ds.catalog.Find("i2")).empty());  // Chinese title tokenised
  EXPECT_EQ(ds.catalog.item(*ds.catalog.Find("7")).title, "numeric id");

  struct Want {
    uint64_t line;
    const char* field;
    const char* reason;
  };
  for (const Want& w : std::vector<Want>{{3, "id", "missing"},
                                         {4, "id", "missing"},
                                         {5, "categories", "expected an array of strings, got string"},
                                         {6, "categories", "element 1 is number"},
                                         {7, "attributes", "value of 'x' must be a string or number, got boolean"},
                                         {8, "available", "expected a boolean, got string"},
                                         {10, "created", "got object"}}) {
    const ImportIssue* is = FindIssue(r, w.line);
    ASSERT_NE(is, nullptr) << "line " << w.line;
    EXPECT_EQ(is->field, w.field) << "line " << w.line;
    EXPECT_NE(is->reason.find(w.reason), std::string::npos) << is->reason;
  }
}

TEST(JsonRecordsTest, ResultsNameTheField) {
  auto ev = RawEventFromJson(nlohmann::json::parse(R"({"user":42,"item":"i","action":"view","ts":"2024-05-01",
                                                       "value":2.5,"context":{"page":"home"}})"));
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->user, "42");
  EXPECT_TRUE(ev->has_ts);
  EXPECT_EQ(ev->ts, 1714521600);
  EXPECT_TRUE(ev->has_value);
  EXPECT_EQ(ev->context, R"({"page":"home"})");
  auto bad = RawEventFromJson(nlohmann::json::parse(R"({"user":"u","value":"much"})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().field(), "value");
  EXPECT_EQ(bad.status().message(), "wrong type: expected a number, got string");

  auto item = ItemFromJson(nlohmann::json::parse(R"({"id":"p1","categories":["a","b"],"attributes":{"price":9}})"));
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  EXPECT_EQ(item->categories.size(), 2u);
  EXPECT_EQ(item->attributes[0].second, "9");
  auto no_id = ItemFromJson(nlohmann::json::parse(R"({"title":"t"})"));
  ASSERT_FALSE(no_id.ok());
  EXPECT_EQ(no_id.status().field(), "id");
  EXPECT_EQ(no_id.status().message(), "missing");
  auto bad_cat = ItemFromJson(nlohmann::json::parse(R"({"id":"p","categories":["a",3]})"));
  ASSERT_FALSE(bad_cat.ok());
  EXPECT_EQ(bad_cat.status().field(), "categories");
  EXPECT_NE(bad_cat.status().message().find("element 1 is number"), std::string::npos);
}

// Report ------------------------------------------------------------------------------------------------------

TEST(ImportReportTest, PrintAndJson) {
  Dataset ds = Ecommerce();
  ImportReport r;
  r.max_issues = 2;
  ASSERT_TRUE(ImportEventsCsv(kFix + "events.csv", CsvMapping(), Quiet(), ds, r).ok());
  EXPECT_EQ(r.rejected, 7u);
  EXPECT_EQ(r.issues.size(), 2u);  // all counted, first ones kept
  std::ostringstream os;
  r.Print(os, 5);
  std::string out = os.str();
  for (const char* want : {"records read", "accepted", "filled", "clipped", "duplicates", "rejected",
                           "items created", "rejections by reason", "action: unknown action", "events.csv:9",
                           "events.csv:10"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }
  nlohmann::json j = nlohmann::json::parse(r.ToJson(), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["records_read"], 15);
  EXPECT_EQ(j["accepted"], 7);
  EXPECT_EQ(j["duplicates"], 1);
  EXPECT_EQ(j["rejected"], 7);
  EXPECT_EQ(j["filled"], 1);
  EXPECT_EQ(j["clipped"], 1);
  EXPECT_EQ(j["items_created"], 5);
  EXPECT_EQ(j["rejected_by_reason"]["user: missing"], 1);
  ASSERT_EQ(j["issues"].size(), 2u);
  EXPECT_EQ(j["issues"][0]["line"], 9);
  EXPECT_EQ(j["issues"][0]["field"], "user");
}

// ParseIso8601 ------------------------------------------------------------------------------------------------

TEST(ParseIso8601Test, Forms) {
  auto ts = [](std::string_view s) {
    auto r = ParseIso8601(s);
    EXPECT_TRUE(r.ok()) << s << ": " << r.status().message();
    return r.ok() ? r.value() : -1;
  };
  EXPECT_EQ(ts("1970-01-01"), 0);
  EXPECT_EQ(ts("2024-05-01T12:00:00Z"), 1714564800);
  EXPECT_EQ(ts("2024-05-01 12:00:00"), 1714564800);
  EXPECT_EQ(ts("2024-05-01t12:00:00z"), 1714564800);
  EXPECT_EQ(ts("2024-05-01T14:00:00+02:00"), 1714564800);
  EXPECT_EQ(ts("2024-05-01T07:00:00-05:00"), 1714564800);
  EXPECT_EQ(ts("2024-05-01T14:00:00+0200"), 1714564800);
  EXPECT_EQ(ts("2024-05-01T12:00Z"), 1714564800);
  EXPECT_EQ(ts("2024-05-01"), 1714521600);
  EXPECT_EQ(ts("2014-04-07T10:51:09.277Z"), 1396867869);  // fraction dropped
  EXPECT_EQ(ts("2024-02-29"), 1709164800);
  EXPECT_EQ(ts(" 2024-05-01 "), 1714521600);
  for (std::string_view bad : {"", "garbage", "2024-13-01", "2023-02-29", "2024-05-01T25:00:00", "2024-05-01T12",
                               "2024-05-01T12:00:00Zjunk", "2024/05/01", "24-05-01", "2024-05-01T12:00:00+2"}) {
    auto r = ParseIso8601(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace vane
