// A Store (store/store.h) on Redis Cluster, through the client of cluster/redis_cluster.h: the first step of
// docs/cluster.md ("The store on Redis Cluster"), for one writer. Its own module (vane_cluster_store, over
// vane_cluster and vane_store) so that neither the store module nor the client module pulls in the other's
// libraries (hiredis, RocksDB).
//
// Keys (P is the prefix; the text in braces is the hash tag that picks the slot):
//   {P:log}:ev       hash: position -> the event (EventToJson)        positions are 20-digit zero-padded decimals,
//   {P:log}:who      hash: position -> the event's user              so their byte order is their numeric order
//   {P:log}:seq      sorted set of positions (all scores 0, read by lex ranges)
//   {P:log}:u:<user> sorted set of the user's positions (the per-user index)
//   {P:log}:rec      hash: user id -> user record
//   {P:log}:ids      sorted set of user ids (scores 0: ids in byte order, for UserRecordsAfter)
//   {P:items}        hash: item id -> the item (ItemToJson)
//   {P:counters}     hash: counter name -> integer (HINCRBY)
//   {P:meta}         hash: metadata key -> value
// Every write that spans keys is one Lua script on one slot, so it is atomic: AppendEvents (events, positions and
// the users' indexes), DeleteUser (the user's events, index and record), EraseUserEvents, PutUser, AddCounters;
// PutItems is one HSET. The cost: the whole event log, its index and the user records live on one master (its
// memory bounds them and its core serves every write); the catalogue, counters and metadata each sit in their own
// slot, usually on other masters.
//
// Durability: a write is acknowledged once the master ran it (no WAIT for replicas; persistence is the cluster's
// configuration). When a master dies the client retries, then the call fails with kUnavailable
// (reason "cluster_unavailable"); a script either ran whole or not at all. A write whose connection failed may
// have run (at-least-once, redis_cluster.h): AppendEvents and the other writes that set values are idempotent;
// a retried AddCounters can count twice.
//
// Positions are any uint64. Thread-safe (the client's mutex serialises the calls). ApproximateBytes is 0.
#pragma once

#include <memory>
#include <string>

#include "vane/cluster/redis_cluster.h"
#include "vane/store/store.h"

namespace vane::cluster {

// Connects to the cluster and returns a store whose keys start with `prefix` (no '{' or '}': InvalidArgument).
// Two stores with the same prefix on the same cluster are the same store. Unavailable when no seed answers.
Result<std::unique_ptr<Store>> OpenRedisClusterStore(RedisClusterOptions options, std::string prefix);

}  // namespace vane::cluster
