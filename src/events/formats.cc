#include "vane/events/formats.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "values.h"
#include "vane/core/strings.h"
#include "vane/events/csv.h"
#include "vane/events/iso8601.h"
#include "vane/events/jsonl.h"
#include "vane/events/line_reader.h"
#include "vane/text/tokenize.h"

namespace vane {
namespace {

namespace fs = std::filesystem;

struct FormatInfo {
  Format format;
  std::string_view name;
  std::vector<std::string_view> aliases;
};

const std::vector<FormatInfo>& Formats() {
  static const std::vector<FormatInfo> kFormats = {
      {Format::kVane, "vane", {"native", "jsonl"}},
      {Format::kMovieLens100k, "ml-100k", {"movielens-100k", "ml100k"}},
      {Format::kMovieLensCsv, "ml-csv", {"ml-latest", "ml-latest-small", "ml-25m", "ml-20m"}},
      {Format::kMovieLens1m, "ml-1m", {"movielens-1m", "ml1m"}},
      {Format::kPairs, "pairs", {"sasrec", "bert4rec"}},
      {Format::kSequences, "sequences", {"s3rec"}},
      {Format::kYoochoose, "yoochoose", {"rsc15"}},
      {Format::kDiginetica, "diginetica", {"cikm16"}},
      {Format::kTaobao, "taobao", {"tianchi"}},
  };
  return kFormats;
}

// Filesystem helpers (error_code overloads: nothing throws).
bool IsDir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool IsFile(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
std::string DirOf(const std::string& file) {
  fs::path parent = fs::path(file).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}
std::string Join(const std::string& dir, std::string_view name) { return (fs::path(dir) / name).string(); }
std::string Stem(const std::string& p) { return fs::path(p).stem().string(); }
std::string DirName(const std::string& dir) {
  fs::path d = fs::path(dir);
  if (!d.has_filename()) d = d.parent_path();  // "ml-1m/" -> "ml-1m"
  return d.filename().string();
}

// The data file: `path` itself, or inside the folder `path` the first of `names` that exists.
Result<std::string> MainFile(const std::string& path, std::initializer_list<std::string_view> names,
                             std::string_view format) {
  if (IsFile(path)) return path;
  if (!IsDir(path)) return Status::NotFound(fmt::format("{}: no such file or folder", path));
  for (std::string_view n : names)
    if (IsFile(Join(path, n))) return Join(path, n);
  std::string list;
  for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
  return Status::NotFound(fmt::format("{}: folder has none of the {} files ({})", path, format, list));
}

// Splits on a one- or multi-character separator into views (no quoting: for formats that have none).
void Split(std::string_view s, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return;
    }
    out.push_back(s.substr(start, p - start));
    start = p + sep.size();
  }
}

// Splits on runs of spaces and tabs.
void SplitWs(std::string_view s, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0, n = s.size();
  while (i < n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    if (i >= n) break;
    size_t j = i;
    while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
}

bool ToInt(std::string_view s, int64_t& v) {
  s = Trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool ToDouble(std::string_view s, double& v) {
  s = Trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::string Shown(std::string_view s) {
  std::string out(s.substr(0, 40));
  if (!text::IsValidUtf8(out)) return "(invalid UTF-8)";
  return "'" + out + (s.size() > 40 ? "...'" : "'");
}

// The old MovieLens files are ISO-8859-1; anything already valid UTF-8 is kept as is.
std::string Latin1ToUtf8(std::string_view s) {
  if (text::IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (char ch : s) text::AppendUtf8(out, static_cast<unsigned char>(ch));
  return out;
}

std::vector<std::string> SplitGenres(std::string_view s) {
  std::vector<std::string> out;
  std::vector<std::string_view> parts;
  Split(s, "|", parts);
  for (std::string_view g : parts) {
    g = Trim(g);
    if (!g.empty() && g != "(no genres listed)") out.emplace_back(g);
  }
  return out;
}

// Feeds events through one EventCleaner and joins item metadata when an event first names an item.
class Loader {
 public:
  Loader(Dataset& ds, const LoadOptions& opt, ImportReport& report)
      : ds_(ds), opt_(opt), report_(report), cleaner_(ds, opt.import, report), base_(report.accepted) {}

  // Returns non-OK only when the load must stop (OnError::kFail).
  Status Add(const RawEvent& raw, const std::string& file, uint64_t line, const Item* row_meta = nullptr) {
    size_t before = ds_.catalog.size();
    Status s = cleaner_.Add(raw, file, line);
    if (ds_.catalog.size() > before) {
      const Item* m = row_meta;
      if (!m) {
        auto it = meta.find(raw.item);
        if (it != meta.end()) m = &it->second;
      }
      if (m) {
        Item item = *m;
        item.id = raw.item;
        ds_.catalog.Upsert(std::move(item));
        // items_created counts the items no metadata describes; this one is described.
        --report_.items_created;
      }
    }
    return Stop(s, file, line);
  }

  Status Reject(const std::string& file, uint64_t line, std::string field, std::string reason) {
    return Stop(RejectRecord(opt_.import, report_, file, line, std::move(field), std::move(reason)), file, line);
  }

  bool Full() const { return opt_.max_events && report_.accepted - base_ >= opt_.max_events; }
  bool Known(std::string_view item) const { return ds_.catalog.Find(item).has_value(); }

  std::unordered_map<std::string, Item> meta;  // item id -> metadata, joined on first sight

 private:
  // A rejected record stops the load (located in its file) only under OnError::kFail.
  Status Stop(const Status& s, std::string_view file, uint64_t line) const {
    if (!s.ok() && opt_.import.on_error == OnError::kFail) return AtRecord(s, file, line);
    return Status::Ok();
  }

  Dataset& ds_;
  const LoadOptions& opt_;
  ImportReport& report_;
  EventCleaner cleaner_;
  uint64_t base_;
};

Status OpenData(LineReader& lr, const std::string& file, const LoadOptions& opt) {
  VANE_RETURN_IF_ERROR(lr.Open(file));
  if (opt.import.progress) lr.ShowProgress("load " + fs::path(file).filename().string());
  return Status::Ok();
}

// Sequential position per user, for synthetic timestamps. Files are grouped by user, so the last user is cached.
// The MovieLens layouts name the dataset after its folder (the one given, or the data file's).
void NameAfterFolder(Dataset& ds, const std::string& path, const std::string& dir) {
  if (ds.name.empty()) ds.name = IsDir(path) ? DirName(path) : DirName(dir);
}

// MovieLens ratings are stars, 0.5 to 5 (whole stars in the older files): anything else is a broken record.
bool MovieLensRating(double v) { return v >= 0.5 && v <= 5.0; }
std::string RatingRangeMessage(double v) { return fmt::format("rating {} is outside MovieLens's 0.5..5 stars", v); }

// One "user item rating unix-time" record of the MovieLens rating files (u.data, ratings.dat), already split.
Status AddRatingRecord(Loader& L, const std::string& file, uint64_t line, const std::vector<std::string_view>& f,
                       RawEvent& raw) {
  int64_t ts;
  if (f.size() != 4)
    return L.Reject(file, line, "record", fmt::format("wrong field count: expected 4 fields, got {}", f.size()));
  if (!ToDouble(f[2], raw.value)) return L.Reject(file, line, "value", "not a number: " + Shown(f[2]));
  if (!MovieLensRating(raw.value)) return L.Reject(file, line, "value", RatingRangeMessage(raw.value));
  if (!ToInt(f[3], ts)) return L.Reject(file, line, "ts", "not a unix time: " + Shown(f[3]));
  raw.user.assign(Trim(f[0]));
  raw.item.assign(Trim(f[1]));
  raw.ts = ts;
  return L.Add(raw, file, line);
}

class Positions {
 public:
  int64_t Next(std::string_view user) {
    if (user != last_) {
      last_.assign(user);
      cur_ = &pos_[last_];
    }
    return (*cur_)++;
  }

 private:
  std::unordered_map<std::string, int64_t> pos_;
  std::string last_;
  int64_t* cur_ = nullptr;
};

// Converters ------------------------------------------------------------------------------------------------------

Status LoadVane(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  std::string events, items;
  if (IsDir(path)) {
    events = Join(path, "events.jsonl");
    items = Join(path, "items.jsonl");
    if (!IsFile(events)) return Status::NotFound(path + ": folder has no events.jsonl");
  } else {
    events = path;
    items = Join(DirOf(path), "items.jsonl");
  }
  if (ds.actions.size() == 0) {
    // A folder may carry its own action set; otherwise the e-commerce preset covers the common names.
    std::string actions_file = Join(IsDir(path) ? path : DirOf(path), "actions.json");
    if (IsFile(actions_file)) {
      std::ifstream in(actions_file);
      std::stringstream ss;
      ss << in.rdbuf();
      auto r = ActionRegistry::FromJson(ss.str());
      if (!r.ok()) return Status::InvalidArgument(actions_file + ": " + r.status().message());
      ds.actions = std::move(r).value();
    } else {
      ds.actions = ActionRegistry::Preset("ecommerce").value();
    }
  }
  if (ds.name.empty()) ds.name = IsDir(path) ? DirName(path) : Stem(path);
  ds.has_timestamps = true;
  if (IsFile(items) && fs::path(items) != fs::path(events)) {
    VANE_RETURN_IF_ERROR(ImportItemsJsonl(items, opt.import, ds, report));
  }
  ImportOptions io = opt.import;
  io.max_events = opt.max_events;
  return ImportEventsJsonl(events, io, ds, report);
}

const std::vector<std::string>& Ml100kGenres() {
  static const std::vector<std::string> kGenres = {
      "unknown", "Action",  "Adventure", "Animation", "Children's", "Comedy",  "Crime",    "Documentary", "Drama",
      "Fantasy", "Film-Noir", "Horror",  "Musical",   "Mystery",    "Romance", "Sci-Fi", "Thriller",    "War",
      "Western"};
  return kGenres;
}

// "01-Jan-1995" (u.item release dates) to a timestamp; false when empty or malformed.
bool ParseDayMonYear(std::string_view s, Timestamp& out) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 11 || s[2] != '-' || s[6] != '-') return false;
  for (int m = 0; m < 12; ++m) {
    if (s.substr(3, 3) != kMonths[m]) continue;
    auto r = ParseIso8601(fmt::format("{}-{:02d}-{}", s.substr(7, 4), m + 1, s.substr(0, 2)));
    if (!r.ok()) return false;
    out = r.value();
    return true;
  }
  return false;
}

Status LoadMl100k(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  auto data = MainFile(path, {"u.data"}, "ml-100k");
  VANE_RETURN_IF_ERROR(data.status());
  std::string dir = DirOf(*data);
  NameAfterFolder(ds, path, dir);
  Loader L(ds, opt, report);
  std::vector<std::string_view> f;
  std::string_view line;

  std::vector<std::string> genres = Ml100kGenres();
  if (IsFile(Join(dir, "u.genre"))) {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(Join(dir, "u.genre")));
    while (lr.Next(line)) {
      Split(line, "|", f);
      int64_t idx;
      if (f.size() == 2 && ToInt(f[1], idx) && idx >= 0 && idx < 64) {
        if (genres.size() <= static_cast<size_t>(idx)) genres.resize(idx + 1);
        genres[idx] = Latin1ToUtf8(Trim(f[0]));
      }
    }
  }
  if (IsFile(Join(dir, "u.item"))) {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(Join(dir, "u.item")));
    while (lr.Next(line)) {
      Split(line, "|", f);
      if (f.size() < 5 || Trim(f[0]).empty()) continue;  // metadata only: a bad row leaves the item bare
      Item item;
      item.type = "movie";
      item.title = Latin1ToUtf8(Trim(f[1]));
      if (!Trim(f[2]).empty()) item.attributes.emplace_back("release", std::string(Trim(f[2])));
      if (!Trim(f[4]).empty()) item.attributes.emplace_back("imdb_url", Latin1ToUtf8(Trim(f[4])));
      ParseDayMonYear(Trim(f[2]), item.created);
      for (size_t g = 5; g < f.size() && g - 5 < genres.size(); ++g)
        if (Trim(f[g]) == "1") item.categories.push_back(genres[g - 5]);
      L.meta[std::string(Trim(f[0]))] = std::move(item);
    }
  }

  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, *data, opt));
  RawEvent raw;
  raw.action = "rating";
  raw.has_ts = raw.has_value = true;
  while (lr.Next(line) && !L.Full()) {
    if (Trim(line).empty()) continue;
    SplitWs(line, f);
    VANE_RETURN_IF_ERROR(AddRatingRecord(L, *data, lr.line_no(), f, raw));
  }
  return lr.error();
}

// Column index by name (case-insensitive), or -1.
int Column(const std::vector<std::string>& header, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    for (size_t c = 0; c < header.size(); ++c) {
      std::string_view h = Trim(header[c]);
      if (h.size() == n.size() &&
          std::equal(h.begin(), h.end(), n.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return static_cast<int>(c);
    }
  }
  return -1;
}

// Reads a delimited file with a header through SplitCsv, calling fn(fields, line) for each record with the right
// number of fields. Metadata files only: their bad rows are skipped, not reported (they hold no events).
template <class Fn>
Status ForEachCsvRow(const std::string& file, char delim, std::vector<std::string>& header, Fn fn) {
  LineReader lr;
  VANE_RETURN_IF_ERROR(lr.Open(file));
  std::vector<std::string> f;
  std::string rec;
  std::string_view line;
  bool have_header = false;
  while (lr.Next(line)) {
    if (Trim(line).empty()) continue;
    uint64_t ln = lr.line_no();
    bool complete = SplitCsv(line, delim, f);
    if (!complete) {
      rec.assign(line);
      while (!complete && lr.Next(line)) {
        rec += '\n';
        rec.append(line);
        complete = SplitCsv(rec, delim, f);
      }
      if (!complete) break;
    }
    if (!have_header) {
      header = f;
      have_header = true;
      continue;
    }
    if (f.size() == header.size()) fn(f, ln);
  }
  return lr.error();
}

Status LoadMlCsv(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  auto data = MainFile(path, {"ratings.csv"}, "ml-csv");
  VANE_RETURN_IF_ERROR(data.status());
  std::string dir = DirOf(*data);
  NameAfterFolder(ds, path, dir);
  Loader L(ds, opt, report);
  std::vector<std::string> header;

  if (IsFile(Join(dir, "movies.csv"))) {
    VANE_RETURN_IF_ERROR(ForEachCsvRow(Join(dir, "movies.csv"), ',', header, [&](auto& f, uint64_t) {
      int ci = Column(header, {"movieId"}), ct = Column(header, {"title"}), cg = Column(header, {"genres"});
      if (ci < 0 || Trim(f[ci]).empty() || !text::IsValidUtf8(f[ci])) return;
      Item& item = L.meta[std::string(Trim(f[ci]))];
      item.type = "movie";
      if (ct >= 0) item.title = Latin1ToUtf8(Trim(f[ct]));
      if (cg >= 0) item.categories = SplitGenres(f[cg]);
    }));
  }
  if (IsFile(Join(dir, "tags.csv"))) {
    // Free-text tags go to the item text (not categories: they are noisy, personal and unbounded).
    std::unordered_map<std::string, std::set<std::string>> seen;
    VANE_RETURN_IF_ERROR(ForEachCsvRow(Join(dir, "tags.csv"), ',', header, [&](auto& f, uint64_t) {
      int ci = Column(header, {"movieId"}), ct = Column(header, {"tag"});
      if (ci < 0 || ct < 0 || Trim(f[ci]).empty()) return;
      std::string tag = Latin1ToUtf8(Trim(f[ct]));
      std::string id(Trim(f[ci]));
      if (tag.empty() || !seen[id].insert(text::Normalize(tag)).second) return;
      Item& item = L.meta[id];
      if (item.type == "item") item.type = "movie";
      if (!item.text.empty()) item.text += ", ";
      item.text += tag;
    }));
  }

  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, *data, opt));
  std::string_view line;
  std::vector<std::string> f;
  int cu = 0, ci = 1, cr = 2, ct = 3;
  size_t ncols = 4;
  bool first = true;
  RawEvent raw;
  raw.action = "rating";
  raw.has_ts = raw.has_value = true;
  while (lr.Next(line) && !L.Full()) {
    if (Trim(line).empty()) continue;
    bool complete = SplitCsv(line, ',', f);
    if (first) {
      first = false;
      header = f;
      cu = Column(header, {"userId"});
      ci = Column(header, {"movieId"});
      cr = Column(header, {"rating"});
      ct = Column(header, {"timestamp"});
      if (cu < 0 || ci < 0 || cr < 0 || ct < 0)
        return Status::InvalidArgument(*data + ": expected the header userId,movieId,rating,timestamp");
      ncols = header.size();
      continue;
    }
    Status s;
    int64_t ts;
    if (!complete) {
      s = L.Reject(*data, lr.line_no(), "record", "unterminated quote");
    } else if (f.size() != ncols) {
      s = L.Reject(*data, lr.line_no(), "record",
                   fmt::format("wrong field count: expected {} fields, got {}", ncols, f.size()));
    } else if (!ToDouble(f[cr], raw.value)) {
      s = L.Reject(*data, lr.line_no(), "value", "not a number: " + Shown(f[cr]));
    } else if (!MovieLensRating(raw.value)) {
      s = L.Reject(*data, lr.line_no(), "value", RatingRangeMessage(raw.value));
    } else if (!ToInt(f[ct], ts)) {
      s = L.Reject(*data, lr.line_no(), "ts", "not a unix time: " + Shown(f[ct]));
    } else {
      raw.user.assign(Trim(f[cu]));
      raw.item.assign(Trim(f[ci]));
      raw.ts = ts;
      s = L.Add(raw, *data, lr.line_no());
    }
    VANE_RETURN_IF_ERROR(s);
  }
  return lr.error();
}

// movies.dat of ML-1M: MovieID::Title::Genres (ISO-8859-1).
Status ReadMoviesDat(const std::string& file, std::unordered_map<std::string, Item>& out) {
  LineReader lr;
  VANE_RETURN_IF_ERROR(lr.Open(file));
  std::string_view line;
  std::vector<std::string_view> f;
  while (lr.Next(line)) {
    Split(line, "::", f);
    if (f.size() != 3 || Trim(f[0]).empty()) continue;
    Item item;
    item.type = "movie";
    item.title = Latin1ToUtf8(Trim(f[1]));
    item.categories = SplitGenres(Latin1ToUtf8(f[2]));
    out[std::string(Trim(f[0]))] = std::move(item);
  }
  return lr.error();
}

Status LoadMl1m(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  auto data = MainFile(path, {"ratings.dat"}, "ml-1m");
  VANE_RETURN_IF_ERROR(data.status());
  std::string dir = DirOf(*data);
  NameAfterFolder(ds, path, dir);
  Loader L(ds, opt, report);
  if (IsFile(Join(dir, "movies.dat"))) VANE_RETURN_IF_ERROR(ReadMoviesDat(Join(dir, "movies.dat"), L.meta));

  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, *data, opt));
  std::string_view line;
  std::vector<std::string_view> f;
  RawEvent raw;
  raw.action = "rating";
  raw.has_ts = raw.has_value = true;
  while (lr.Next(line) && !L.Full()) {
    if (Trim(line).empty()) continue;
    Split(line, "::", f);
    VANE_RETURN_IF_ERROR(AddRatingRecord(L, *data, lr.line_no(), f, raw));
  }
  return lr.error();
}

Status RequireFile(const std::string& path, std::string_view format) {
  if (IsDir(path))
    return Status::InvalidArgument(fmt::format("{}: {} expects the data file itself, not a folder", path, format));
  if (!IsFile(path)) return Status::NotFound(path + ": no such file");
  return Status::Ok();
}

Status LoadPairs(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  VANE_RETURN_IF_ERROR(RequireFile(path, "pairs"));
  std::string dir = DirOf(path);
  if (ds.name.empty()) ds.name = Stem(path);
  Loader L(ds, opt, report);
  std::string_view line;
  std::vector<std::string_view> f;

  // SASRec's ML-1M renumbers movies; the mapping file leads back to movies.dat for titles and genres.
  std::string map_file = Join(dir, "sas_to_original_items.txt"), movies_file = Join(dir, "movies.dat");
  if (IsFile(map_file) && IsFile(movies_file)) {
    std::unordered_map<std::string, Item> movies;
    VANE_RETURN_IF_ERROR(ReadMoviesDat(movies_file, movies));
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(map_file));
    while (lr.Next(line)) {
      SplitWs(line, f);
      if (f.size() != 2) continue;
      auto it = movies.find(std::string(f[1]));
      if (it == movies.end()) continue;
      Item item = it->second;
      item.attributes.emplace_back("movielens_id", std::string(f[1]));
      L.meta[std::string(f[0])] = std::move(item);
    }
  }

  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, path, opt));
  Positions pos;
  RawEvent raw;
  raw.action = "interact";
  raw.has_ts = true;
  while (lr.Next(line) && !L.Full()) {
    SplitWs(line, f);
    if (f.empty()) continue;
    Status s;
    if (f.size() != 2) {
      s = L.Reject(path, lr.line_no(), "record", fmt::format("wrong field count: expected 2 fields, got {}", f.size()));
    } else {
      raw.user.assign(f[0]);
      raw.item.assign(f[1]);
      raw.ts = opt.synthetic_base + pos.Next(f[0]) * opt.synthetic_step;
      s = L.Add(raw, path, lr.line_no());
    }
    VANE_RETURN_IF_ERROR(s);
  }
  return lr.error();
}

Status LoadSequences(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  VANE_RETURN_IF_ERROR(RequireFile(path, "sequences"));
  std::string dir = DirOf(path);
  if (ds.name.empty()) ds.name = Stem(path);
  Loader L(ds, opt, report);

  std::string attr_file = Join(dir, Stem(path) + "_item2attributes.json");
  if (IsFile(attr_file)) {
    std::ifstream in(attr_file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return Status::InvalidArgument(attr_file + ": expected a JSON object {item id: [attribute ids]}");
    for (const auto& [id, attrs] : j.items()) {
      if (!attrs.is_array()) return Status::InvalidArgument(attr_file + ": item " + id + ": expected an array");
      Item item;
      for (const auto& a : attrs) {
        if (!a.is_number_integer() && !a.is_string())
          return Status::InvalidArgument(attr_file + ": item " + id + ": attribute ids must be integers or strings");
        item.categories.push_back("attr:" + (a.is_string() ? a.get<std::string>() : a.dump()));
      }
      L.meta[id] = std::move(item);
    }
  }

  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, path, opt));
  std::string_view line;
  std::vector<std::string_view> f;
  Positions pos;
  RawEvent raw;
  raw.action = "interact";
  raw.has_ts = true;
  while (lr.Next(line) && !L.Full()) {
    SplitWs(line, f);
    if (f.empty()) continue;
    if (f.size() == 1) {
      VANE_RETURN_IF_ERROR(L.Reject(path, lr.line_no(), "record", "no items: a user id alone"));
      continue;
    }
    raw.user.assign(f[0]);
    for (size_t k = 1; k < f.size() && !L.Full(); ++k) {
      raw.item.assign(f[k]);
      raw.ts = opt.synthetic_base + pos.Next(f[0]) * opt.synthetic_step;
      VANE_RETURN_IF_ERROR(L.Add(raw, path, lr.line_no()));
    }
  }
  return lr.error();
}

// Adds categories seen on events to items after the load (YooChoose carries the category per click).
void AddCategories(Dataset& ds, const std::unordered_map<std::string, std::vector<std::string>>& cats) {
  for (const auto& [id, list] : cats) {
    auto idx = ds.catalog.Find(id);
    if (!idx || list.empty()) continue;
    Item item = ds.catalog.item(*idx);
    for (const auto& c : list)
      if (std::find(item.categories.begin(), item.categories.end(), c) == item.categories.end())
        item.categories.push_back(c);
    ds.catalog.Upsert(std::move(item));
  }
}

// One record of the RecSys'15 challenge layout: a click (session,ISO time,item,category) or a buy
// (session,time,item,price,quantity). A click's category code is collected in `cats` for its item.
Status AddYoochooseRow(Loader& L, const std::string& file, uint64_t line, const std::vector<std::string_view>& f,
                       RawEvent& raw, std::unordered_map<std::string, std::vector<std::string>>& cats) {
  if (f.size() != 4 && f.size() != 5)
    return L.Reject(file, line, "record", fmt::format("wrong field count: expected 4 (clicks) or 5 (buys) fields, got {}", f.size()));
  auto t = ParseIso8601(f[1]);
  double qty = 0;
  if (!t.ok()) return L.Reject(file, line, "ts", t.status().message());
  if (f.size() == 5 && !ToDouble(f[4], qty)) return L.Reject(file, line, "value", "not a quantity: " + Shown(f[4]));
  raw.ts = t.value();
  raw.user.assign(Trim(f[0]));
  raw.session = raw.user;
  raw.item.assign(Trim(f[2]));
  raw.action = f.size() == 5 ? "purchase" : "click";
  raw.has_value = f.size() == 5;
  raw.value = qty;
  Status s = L.Add(raw, file, line);
  if (f.size() == 4) {
    // "0" means unknown, "S" a special offer, 1-12 a category, longer numbers a brand.
    std::string_view c = Trim(f[3]);
    if (!c.empty() && c != "0" && L.Known(raw.item) && text::IsValidUtf8(c)) {
      std::string cat = c == "S" ? "special offer" : (c.size() > 2 ? "brand:" : "cat:") + std::string(c);
      auto& list = cats[raw.item];
      if (std::find(list.begin(), list.end(), cat) == list.end()) list.push_back(std::move(cat));
    }
  }
  return s;
}

Status LoadYoochoose(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  auto data = MainFile(path, {"yoochoose-clicks.dat", "yoochoose-clicks-100k_train_full.txt"}, "yoochoose");
  VANE_RETURN_IF_ERROR(data.status());
  if (ds.name.empty()) ds.name = Stem(*data);
  Loader L(ds, opt, report);
  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, *data, opt));
  std::string_view line;
  std::vector<std::string_view> f;
  std::unordered_map<std::string, std::vector<std::string>> cats;
  // Two layouts: the challenge's own (session,ISO time,item,category; buys: session,time,item,price,quantity,
  // no header) and session-rec's prepared TSV (SessionId\tItemId\tTime with unix seconds, header).
  bool tsv = false, decided = false;
  int cs = 0, ci = 1, ct = 2;
  size_t ncols = 3;
  RawEvent raw;
  raw.has_ts = true;
  while (lr.Next(line) && !L.Full()) {
    if (Trim(line).empty()) continue;
    if (!decided) {
      decided = true;
      tsv = line.find('\t') != std::string_view::npos;
      if (tsv) {
        Split(line, "\t", f);
        std::vector<std::string> header(f.begin(), f.end());
        cs = Column(header, {"SessionId", "session_id", "session"});
        ci = Column(header, {"ItemId", "item_id", "item"});
        ct = Column(header, {"Time", "timestamp", "ts"});
        if (cs < 0 || ci < 0 || ct < 0)
          return Status::InvalidArgument(*data + ": tab-separated file without the header SessionId, ItemId, Time");
        ncols = header.size();
        continue;
      }
    }
    Status s;
    Split(line, tsv ? "\t" : ",", f);
    double tsd = 0;
    if (tsv) {
      raw.action = "click";
      raw.has_value = false;
      if (f.size() != ncols) {
        s = L.Reject(*data, lr.line_no(), "record", fmt::format("wrong field count: expected {} fields, got {}", ncols, f.size()));
      } else if (!ToDouble(f[ct], tsd) || !events_detail::SecondsToTs(tsd, raw.ts)) {
        // SecondsToTs: a finite time beyond the int64 range (1e300) would not convert.
        s = L.Reject(*data, lr.line_no(), "ts", "not a unix time: " + Shown(f[ct]));
      } else {
        raw.user.assign(Trim(f[cs]));
        raw.session = raw.user;
        raw.item.assign(Trim(f[ci]));
        s = L.Add(raw, *data, lr.line_no());
      }
    } else {
      s = AddYoochooseRow(L, *data, lr.line_no(), f, raw, cats);
    }
    VANE_RETURN_IF_ERROR(s);
  }
  AddCategories(ds, cats);
  return lr.error();
}

// The optional product files of the full Diginetica release (hashed name tokens, log2 price, category) as item
// metadata.
Status ReadDigineticaProducts(const std::string& dir, Loader& L) {
  std::vector<std::string> header;
  if (IsFile(Join(dir, "products.csv"))) {
    VANE_RETURN_IF_ERROR(ForEachCsvRow(Join(dir, "products.csv"), ';', header, [&](auto& f, uint64_t) {
      int ci = Column(header, {"itemId", "item_id"}), cp = Column(header, {"pricelog2"}),
          cn = Column(header, {"product.name.tokens"});
      if (ci < 0 || Trim(f[ci]).empty()) return;
      Item& item = L.meta[std::string(Trim(f[ci]))];
      item.type = "product";
      if (cp >= 0 && !Trim(f[cp]).empty()) item.attributes.emplace_back("pricelog2", std::string(Trim(f[cp])));
      if (cn >= 0) {
        item.text = f[cn];
        std::replace(item.text.begin(), item.text.end(), ',', ' ');
      }
    }));
  }
  if (IsFile(Join(dir, "product-categories.csv"))) {
    VANE_RETURN_IF_ERROR(ForEachCsvRow(Join(dir, "product-categories.csv"), ';', header, [&](auto& f, uint64_t) {
      int ci = Column(header, {"itemId", "item_id"}), cc = Column(header, {"categoryId", "category_id"});
      if (ci < 0 || cc < 0 || Trim(f[ci]).empty() || Trim(f[cc]).empty()) return;
      Item& item = L.meta[std::string(Trim(f[ci]))];
      item.type = "product";
      item.categories.push_back("cat:" + std::string(Trim(f[cc])));
    }));
  }
  return Status::Ok();
}

Status LoadDiginetica(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  auto data = MainFile(path, {"train-item-views.csv", "sample_train-item-views.csv"}, "diginetica");
  VANE_RETURN_IF_ERROR(data.status());
  std::string dir = DirOf(*data);
  if (ds.name.empty()) ds.name = Stem(*data);
  Loader L(ds, opt, report);
  VANE_RETURN_IF_ERROR(ReadDigineticaProducts(dir, L));

  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, *data, opt));
  std::string_view line;
  std::vector<std::string_view> f;
  int cs = -1, cu = -1, ci = -1, ctf = -1, cd = -1;
  size_t ncols = 0;
  RawEvent raw;
  raw.action = "view";
  raw.has_ts = true;
  while (lr.Next(line) && !L.Full()) {
    if (Trim(line).empty()) continue;
    Split(line, ";", f);
    if (ncols == 0) {
      std::vector<std::string> h(f.begin(), f.end());
      cs = Column(h, {"session_id", "sessionId"});
      cu = Column(h, {"user_id", "userId"});
      ci = Column(h, {"item_id", "itemId"});
      ctf = Column(h, {"timeframe"});
      cd = Column(h, {"eventdate"});
      if (cs < 0 || ci < 0 || ctf < 0 || cd < 0)
        return Status::InvalidArgument(*data + ": expected the header session_id;user_id;item_id;timeframe;eventdate");
      ncols = h.size();
      continue;
    }
    Status s;
    int64_t tf;
    if (f.size() != ncols) {
      s = L.Reject(*data, lr.line_no(), "record", fmt::format("wrong field count: expected {} fields, got {}", ncols, f.size()));
    } else if (!ToInt(f[ctf], tf)) {
      s = L.Reject(*data, lr.line_no(), "ts", "timeframe not an integer: " + Shown(f[ctf]));
    } else if (auto day = ParseIso8601(f[cd]); !day.ok()) {
      s = L.Reject(*data, lr.line_no(), "ts", day.status().message());
    } else {
      // The event date is a day (taken as UTC midnight); the timeframe orders events within the session.
      raw.ts = day.value() + tf / 1000;
      std::string_view session = Trim(f[cs]);
      std::string_view user = cu >= 0 ? Trim(f[cu]) : std::string_view();
      if (user.empty() || user == "NA") {
        raw.user = "s";
        raw.user.append(session);
      } else {
        raw.user.assign(user);
      }
      raw.session.assign(session);
      raw.item.assign(Trim(f[ci]));
      s = L.Add(raw, *data, lr.line_no());
    }
    VANE_RETURN_IF_ERROR(s);
  }
  return lr.error();
}

// The item a Taobao row describes (name, category, brand, price columns; -1 = absent); false when any of its text
// is not valid UTF-8.
bool TaobaoRowItem(const std::vector<std::string>& f, int cn, int cc, int ccid, int cb, int cbid, int cp, Item& item) {
  auto col = [&](int c) { return c >= 0 ? std::string(Trim(f[c])) : std::string(); };
  item = Item();
  item.type = "product";
  item.title = col(cn);
  if (!col(cc).empty()) item.categories.push_back(col(cc));
  if (!col(ccid).empty()) item.attributes.emplace_back("category_id", col(ccid));
  if (!col(cb).empty()) {
    item.attributes.emplace_back("brand", col(cb));
    item.text = col(cb);
  }
  if (!col(cbid).empty()) item.attributes.emplace_back("brand_id", col(cbid));
  if (!col(cp).empty()) item.attributes.emplace_back("price", col(cp));
  bool utf8 = text::IsValidUtf8(item.title) && text::IsValidUtf8(item.text);
  for (const auto& c : item.categories) utf8 = utf8 && text::IsValidUtf8(c);
  for (const auto& a : item.attributes) utf8 = utf8 && text::IsValidUtf8(a.second);
  return utf8;
}

Status LoadTaobao(const std::string& path, const LoadOptions& opt, Dataset& ds, ImportReport& report) {
  auto data = MainFile(path, {"UserBehavior.csv"}, "taobao");
  VANE_RETURN_IF_ERROR(data.status());
  if (ds.name.empty()) ds.name = IsDir(path) ? DirName(path) : Stem(*data);
  Loader L(ds, opt, report);
  LineReader lr;
  VANE_RETURN_IF_ERROR(OpenData(lr, *data, opt));
  std::string_view line;
  std::vector<std::string> f;
  // Columns: the Tianchi 216549 file has a Chinese header; the classic UserBehavior.csv (Tianchi 649) has none and
  // five columns user,item,category,behavior,ts.
  int cu = 0, ci = 1, cb = -1, cbid = -1, cn = -1, cc = -1, ccid = 2, cact = 3, ct = 4, cp = -1;
  size_t ncols = 5;
  bool first = true;
  RawEvent raw;
  raw.has_ts = true;
  Item row_item;
  while (lr.Next(line) && !L.Full()) {
    if (Trim(line).empty()) continue;
    bool complete = SplitCsv(line, ',', f);
    if (first) {
      first = false;
      int64_t dummy;
      if (!(f.size() == 5 && ToInt(f[0], dummy))) {
        const std::vector<std::string>& h = f;
        cu = Column(h, {"用户ID", "user_id", "user"});
        ci = Column(h, {"商品ID", "item_id", "item"});
        cb = Column(h, {"品牌", "brand"});
        cbid = Column(h, {"品牌ID", "brand_id"});
        cn = Column(h, {"商品名称", "item_name", "name", "title"});
        cc = Column(h, {"商品类别", "category_name"});
        ccid = Column(h, {"商品类目ID", "category_id", "category"});
        cact = Column(h, {"行为类型", "behavior_type", "behavior", "action"});
        ct = Column(h, {"时间戳", "timestamp", "ts"});
        cp = Column(h, {"售价", "price"});
        if (cu < 0 || ci < 0 || cact < 0 || ct < 0)
          return Status::InvalidArgument(*data + ": header lacks user, item, behaviour or timestamp columns (" +
                                         "expected 用户ID,商品ID,...,行为类型,时间戳 or user_id,item_id,...)");
        ncols = h.size();
        continue;
      }
    }
    Status s;
    int64_t ts;
    if (!complete) {
      s = L.Reject(*data, lr.line_no(), "record", "unterminated quote");
    } else if (f.size() != ncols) {
      s = L.Reject(*data, lr.line_no(), "record", fmt::format("wrong field count: expected {} fields, got {}", ncols, f.size()));
    } else if (!ToInt(f[ct], ts)) {
      s = L.Reject(*data, lr.line_no(), "ts", "not a unix time: " + Shown(f[ct]));
    } else {
      raw.user.assign(Trim(f[cu]));
      raw.item.assign(Trim(f[ci]));
      raw.action.assign(Trim(f[cact]));
      raw.ts = ts;
      // Item text is fixed per item in this file: the first row describes it.
      const Item* meta = nullptr;
      if (!raw.item.empty() && !L.Known(raw.item) && TaobaoRowItem(f, cn, cc, ccid, cb, cbid, cp, row_item))
        meta = &row_item;
      s = L.Add(raw, *data, lr.line_no(), meta);
    }
    VANE_RETURN_IF_ERROR(s);
  }
  return lr.error();
}

}  // namespace

Result<Format> ParseFormat(std::string_view name) {
  for (const FormatInfo& f : Formats()) {
    if (f.name == name) return f.format;
    for (std::string_view a : f.aliases)
      if (a == name) return f.format;
  }
  std::string known;
  for (const auto& n : FormatNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown dataset format '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<std::string> FormatNames() {
  std::vector<std::string> out;
  for (const FormatInfo& f : Formats()) out.emplace_back(f.name);
  return out;
}

Status LoadDataset(Format format, const std::string& path, const LoadOptions& opt, Dataset& ds,
                   ImportReport& report) {
  try {
    if (format != Format::kVane) {
      // Each converter emits its preset's action names. Appending to a dataset that already has events keeps its
      // registry, so earlier events keep their action ids (unknown names are then rejected and reported).
      std::string_view preset = "implicit";
      if (format == Format::kYoochoose || format == Format::kDiginetica || format == Format::kTaobao)
        preset = "ecommerce";
      if (ds.actions.size() == 0 || ds.events.empty()) ds.actions = ActionRegistry::Preset(preset).value();
    }
    ds.has_timestamps = !(format == Format::kPairs || format == Format::kSequences);
    switch (format) {
      case Format::kVane: return LoadVane(path, opt, ds, report);
      case Format::kMovieLens100k: return LoadMl100k(path, opt, ds, report);
      case Format::kMovieLensCsv: return LoadMlCsv(path, opt, ds, report);
      case Format::kMovieLens1m: return LoadMl1m(path, opt, ds, report);
      case Format::kPairs: return LoadPairs(path, opt, ds, report);
      case Format::kSequences: return LoadSequences(path, opt, ds, report);
      case Format::kYoochoose: return LoadYoochoose(path, opt, ds, report);
      case Format::kDiginetica: return LoadDiginetica(path, opt, ds, report);
      case Format::kTaobao: return LoadTaobao(path, opt, ds, report);
    }
    return Status::InvalidArgument("unknown format");
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

}  // namespace vane
