// Redis Cluster key slots: which of the 16384 hash slots a key belongs to, as the Redis Cluster specification
// defines it (CRC16-XMODEM of the key, or of its hash tag, modulo 16384). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace vane::cluster {

inline constexpr int kSlotCount = 16384;

// CRC16 as Redis Cluster uses it: the XMODEM variant (polynomial 0x1021, initial value 0, no reflection).
// Crc16("123456789") == 0x31C3.
uint16_t Crc16(std::string_view data);

// The part of `key` that is hashed: the bytes between the first '{' and the first '}' after it, when that span
// is non-empty; the whole key otherwise ("{user1000}.following" -> "user1000", "foo{}{bar}" -> "foo{}{bar}").
std::string_view HashTag(std::string_view key);

// The slot of `key`, in [0, kSlotCount).
int KeySlot(std::string_view key);

}  // namespace vane::cluster
