// Key slots against the Redis Cluster specification's own examples, and the client's seed errors (no server
// needed). The slots are checked against a real server's CLUSTER KEYSLOT in cluster_slow_test.cc.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vane/cluster/key_slot.h"
#include "vane/cluster/redis_cluster.h"

namespace vane::cluster {
namespace {

TEST(KeySlot, Crc16IsXmodemAsTheSpecSays) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);  // the spec's check value for its CRC16 (XMODEM)
  EXPECT_EQ(Crc16(""), 0);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 % kSlotCount);
}

TEST(KeySlot, KnownSlots) {
  // Values from the Redis documentation (CLUSTER KEYSLOT examples, redis-cli -c redirections).
  EXPECT_EQ(KeySlot("somekey"), 11058);
  EXPECT_EQ(KeySlot("foo{hash_tag}"), 2515);
  EXPECT_EQ(KeySlot("bar{hash_tag}"), 2515);
  EXPECT_EQ(KeySlot("foo"), 12182);
}

TEST(KeySlot, HashTagsFollowTheSpec) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(HashTag("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");     // the first '{' and the first '}' after it
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");      // only the first tag counts
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");  // an empty tag: the whole key is hashed
  EXPECT_EQ(HashTag("foo{bar"), "foo{bar");        // no closing brace: the whole key
  EXPECT_EQ(HashTag("}foo{bar}"), "bar");
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") % kSlotCount);
  // A negative control: the tag really changes the slot of these keys.
  EXPECT_NE(KeySlot("{a}x"), KeySlot("{b}x"));
}

TEST(KeySlot, BinaryKeys) {
  std::string key("a\0b{\xff}", 6);
  EXPECT_EQ(HashTag(key), std::string_view("\xff", 1));
  EXPECT_EQ(KeySlot(key), KeySlot(std::string("\xff", 1)));
}

// A loopback port nobody listens on (bound, read, closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(RedisClusterConnect, UnreachableSeedsFailNamingEachSeed) {
  std::string a = "127.0.0.1:" + std::to_string(ClosedPort());
  std::string b = "127.0.0.1:" + std::to_string(ClosedPort());
  RedisClusterOptions opt;
  opt.seeds = {a, b};
  opt.connect_timeout = std::chrono::milliseconds(500);
  auto client = RedisCluster::Connect(opt);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
  const std::string& msg = client.status().message();
  EXPECT_NE(msg.find(a), std::string::npos) << msg;
  EXPECT_NE(msg.find(b), std::string::npos) << msg;
  EXPECT_NE(msg.find("Connection refused"), std::string::npos) << msg;
}

TEST(RedisClusterConnect, MalformedSeedsAreInvalid) {
  for (std::vector<std::string> seeds : std::vector<std::vector<std::string>>{
           {}, {"localhost"}, {"127.0.0.1:"}, {"127.0.0.1:70000"}, {":6379"}, {"127.0.0.1:6379x"}}) {
    RedisClusterOptions opt;
    opt.seeds = seeds;
    auto client = RedisCluster::Connect(opt);
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << client.status().ToString();
  }
}

}  // namespace
}  // namespace vane::cluster
