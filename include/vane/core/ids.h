// Dense internal ids. External ids are strings ("u42", "sku-17"); inside vane every user, item, query and
// interest is a dense 32-bit index so that state lives in flat arrays. Distinct types keep them from being swapped.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>

namespace vane {

template <class Tag>
struct DenseId {
  uint32_t v = std::numeric_limits<uint32_t>::max();
  constexpr DenseId() = default;
  constexpr explicit DenseId(uint32_t x) : v(x) {}
  constexpr bool valid() const { return v != std::numeric_limits<uint32_t>::max(); }
  constexpr auto operator<=>(const DenseId&) const = default;
};

struct UserTag {};
struct ItemTag {};
using UserIdx = DenseId<UserTag>;
using ItemIdx = DenseId<ItemTag>;

// Seconds since the Unix epoch.
using Timestamp = int64_t;

}  // namespace vane

template <class Tag>
struct std::hash<vane::DenseId<Tag>> {
  size_t operator()(vane::DenseId<Tag> id) const noexcept { return std::hash<uint32_t>()(id.v); }
};
