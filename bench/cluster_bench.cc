// Throughput of the Redis Cluster client (vane_cluster) on a running cluster: SET then GET of `ops` keys, in
// pipelined batches of `batch` commands (batch 1: one round trip a command). One client, one thread, one
// connection per master. Prints ops/s; bench/cluster_bench.sh starts the cluster and compares with redis-benchmark.
// Usage: vane_cluster_bench --seed 127.0.0.1:PORT [--ops 200000] [--batch 16] [--value 3]
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vane/cluster/redis_cluster.h"

namespace {

using vane::cluster::RedisCluster;

// Runs `ops` commands made by `make(i)` in batches; returns ops/s, or -1 after printing the failure.
template <class Make>
double Throughput(RedisCluster& client, int ops, int batch, Make make) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < ops; i += batch) {
    commands.clear();
    for (int j = i; j < std::min(ops, i + batch); ++j) commands.push_back(make(j));
    auto replies = client.Pipeline(commands);
    if (!replies.ok()) {
      std::cerr << replies.status().ToString() << "\n";
      return -1;
    }
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return ops / took.count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Redis Cluster client throughput"};
  std::string seed;
  int ops = 200000, batch = 16, value_size = 3;
  app.add_option("--seed", seed, "host:port of a cluster node")->required();
  app.add_option("--ops", ops, "keys written then read")->capture_default_str();
  app.add_option("--batch", batch, "commands per pipelined batch")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--value", value_size, "value bytes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  vane::cluster::RedisClusterOptions opt;
  opt.seeds = {seed};
  auto client = RedisCluster::Connect(opt);
  if (!client.ok()) {
    std::cerr << client.status().ToString() << "\n";
    return 1;
  }
  const std::string value(value_size, 'x');
  auto key = [](int i) { return fmt::format("key:{:012}", i); };
  double set = Throughput(**client, ops, batch, [&](int i) { return std::vector<std::string>{"SET", key(i), value}; });
  double get = Throughput(**client, ops, batch, [&](int i) { return std::vector<std::string>{"GET", key(i)}; });
  if (set < 0 || get < 0) return 1;
  std::cout << fmt::format("vane_cluster_bench batch={} ops={} value={}B: SET {:.0f} ops/s, GET {:.0f} ops/s\n", batch,
                           ops, value_size, set, get);
  return 0;
}
