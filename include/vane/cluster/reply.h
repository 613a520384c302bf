// A Redis reply as vane reads it: an owned copy of what hiredis parsed (RESP2: nil, integer, bulk string, status,
// error, array). Plain value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vane/core/status.h"

namespace vane::cluster {

struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;          // kInteger
  std::string str;              // kString (binary-safe), kStatus ("OK"), kError ("WRONGTYPE Operation ...")
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  // OK unless this is an error reply; then FailedPrecondition with reason "redis_error" and the server's message.
  Status ToStatus() const;
  // A short readable form for messages and test output: nil, (integer) 3, "bulk", OK, (error) ..., [a, b].
  std::string DebugString() const;
};

}  // namespace vane::cluster
