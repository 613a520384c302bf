#include "vane/events/iso8601.h"

#include <string>

#include "values.h"
#include "vane/core/strings.h"

namespace vane {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ReadDigits(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  i += n;
  return true;
}

// The parts of an ISO-8601 time; each Read* below consumes its part of `t` from `i` and returns the reason
// (nullptr when fine).
struct Iso8601Parts {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  int64_t offset = 0;  // seconds east of UTC
};

const char* ReadDate(std::string_view t, size_t& i, Iso8601Parts& p) {
  if (!ReadDigits(t, i, 4, p.y)) return "expected YYYY-MM-DD";
  if (i >= t.size() || t[i++] != '-' || !ReadDigits(t, i, 2, p.mo)) return "expected YYYY-MM-DD";
  if (i >= t.size() || t[i++] != '-' || !ReadDigits(t, i, 2, p.d)) return "expected YYYY-MM-DD";
  if (p.mo < 1 || p.mo > 12) return "month out of range";
  if (p.d < 1 || static_cast<unsigned>(p.d) > DaysInMonth(p.y, static_cast<unsigned>(p.mo))) return "day out of range";
  return nullptr;
}

const char* ReadTimeOfDay(std::string_view t, size_t& i, Iso8601Parts& p) {
  char sep = t[i++];
  if (sep != 'T' && sep != 't' && sep != ' ') return "expected 'T' or ' ' after the date";
  if (!ReadDigits(t, i, 2, p.h)) return "expected hh:mm";
  if (i >= t.size() || t[i++] != ':' || !ReadDigits(t, i, 2, p.mi)) return "expected hh:mm";
  if (i < t.size() && t[i] == ':') {
    ++i;
    if (!ReadDigits(t, i, 2, p.sec)) return "expected ss";
    if (i < t.size() && (t[i] == '.' || t[i] == ',')) {
      // Fractions of a second are dropped: Timestamp has one-second resolution.
      ++i;
      size_t start = i;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
      if (i == start) return "expected digits after the decimal point";
    }
  }
  if (p.h > 23 || p.mi > 59 || p.sec > 60) return "time of day out of range";
  return nullptr;
}

const char* ReadZone(std::string_view t, size_t& i, Iso8601Parts& p) {
  if (i >= t.size()) return nullptr;
  char z = t[i];
  if ((z == 'Z' || z == 'z') && i + 1 == t.size()) {
    ++i;
  } else if (z == '+' || z == '-') {
    ++i;
    int oh = 0, om = 0;
    if (!ReadDigits(t, i, 2, oh)) return "expected an offset +hh:mm";
    if (i < t.size() && t[i] == ':') ++i;
    if (i < t.size() && !ReadDigits(t, i, 2, om)) return "expected an offset +hh:mm";
    if (oh > 23 || om > 59) return "offset out of range";
    p.offset = (z == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  return nullptr;
}

}  // namespace

Result<Timestamp> ParseIso8601(std::string_view s) {
  std::string_view t = Trim(s);
  size_t i = 0;
  Iso8601Parts p;
  const char* why = ReadDate(t, i, p);
  if (!why && i < t.size()) {
    why = ReadTimeOfDay(t, i, p);
    if (!why) why = ReadZone(t, i, p);
    if (!why && i != t.size()) why = "unexpected trailing text";
  }
  if (why)
    return Status::InvalidArgument("not an ISO-8601 time: " + events_detail::Quote(t) + " (" + std::string(why) + ")");
  int64_t days = DaysFromCivil(p.y, static_cast<unsigned>(p.mo), static_cast<unsigned>(p.d));
  // Local time = UTC + offset, so UTC = local - offset.
  return days * 86400 + p.h * 3600 + p.mi * 60 + p.sec - p.offset;
}

}  // namespace vane
