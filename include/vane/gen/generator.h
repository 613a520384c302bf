// Generated data: a bilingual (English + Chinese) catalogue across the five scenario domains and users whose
// session intents switch at known points, with a ground-truth record of each event's true intent.
//
// Used as the embedded demo data, the test fixture and the interest-capture benchmark. Deterministic given
// GenOptions::seed. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane::gen {

struct GenOptions {
  uint64_t seed = 42;
  int users = 300;
  int items_per_topic = 30;      // products/videos/articles/posts/trips per topic
  int pages_per_topic = 3;       // "page" items (guides, landing pages) per topic
  int sessions_per_user = 4;
  int intents_per_session_min = 1, intents_per_session_max = 3;
  int events_per_intent_min = 4, events_per_intent_max = 10;
  double noise = 0.10;           // share of events on a random other topic
  double zh_share = 0.3;         // share of users who search in Chinese
  double negative_share = 0.05;  // share of events that are dislikes/skips/removals of intent items (within intent)
  Timestamp start = 1767225600;  // 2026-01-01T00:00:00Z
};

struct Topic {
  std::string domain;            // ecommerce, video, social, news, travel
  std::string name_en, name_zh;  // category names ("Trail running" / "越野跑")
  std::vector<std::string> words_en, words_zh;  // words for titles and queries
};

// One row per generated event, aligned by index with Generated::events.
struct TruthRow {
  std::string user;
  std::string intent;            // the topic (category name_en) the user pursues at this event
  bool noise = false;            // this event was drawn off-intent on purpose (never a segment's first event)
  bool switch_point = false;     // first event of a new intent segment (not the user's first segment)
  uint32_t segment = 0;          // running index of the intent segment within the user
};

struct Generated {
  std::vector<Topic> topics;
  std::vector<Item> items;       // categories = {topic name_en}; attributes: domain, category_zh, price (products)
  std::vector<RawEvent> events;  // ordered by time
  std::vector<TruthRow> truth;
  std::vector<std::vector<std::string>> long_term;  // per user (index = "u<k>"): their long-term topics
};

// The built-in topic list (five domains, bilingual).
const std::vector<Topic>& BuiltinTopics();
Generated Generate(const GenOptions& opt);

// Writes items.jsonl, events.jsonl and truth.jsonl into dir (created if needed), in vane's native format
// (docs/data_formats.md).
Status WriteGenerated(const Generated& g, const std::string& dir);

}  // namespace vane::gen
