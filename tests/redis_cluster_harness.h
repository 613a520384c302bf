// A real Redis Cluster on loopback for tests: N masters with R replicas each, every node its own `redis-server`
// process (Debian redis-server 7.0) on a free port with its own temporary directory, joined by
// `redis-cli --cluster create`. Start() returns once every node reports cluster_state:ok and every replica's link to
// its master is up. The destructor stops every process still running and removes the directory; the servers also
// die with the test process (PR_SET_PDEATHSIG), so a crashed test leaves none behind.
//
// Missing binaries are a failure, not a skip: Start() says which Debian packages to install.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vane/cluster/redis_cluster.h"
#include "vane/core/status.h"

namespace vane::testing {

class RedisClusterHarness {
 public:
  struct Node {
    int port = 0;
    pid_t pid = -1;  // -1 once stopped or killed
    std::string dir;
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  };

  RedisClusterHarness() = default;
  ~RedisClusterHarness() { Stop(); }
  RedisClusterHarness(const RedisClusterHarness&) = delete;
  RedisClusterHarness& operator=(const RedisClusterHarness&) = delete;

  // Starts masters * (1 + replicas) servers and creates the cluster. On failure the message says what failed,
  // with the tail of the server's log when one is involved.
  Status Start(int masters = 3, int replicas = 1) {
    for (const char* tool : {"redis-server", "redis-cli"}) {
      if (!OnPath(tool)) {
        return Status::FailedPrecondition(std::string(tool) +
                                          " is not on PATH: install the Debian packages "
                                          "redis-server and redis-tools (scripts/install_deps.sh lists them)");
      }
    }
    // A cluster that does not settle (seen once on a loaded 2-core machine: a replica still missing from CLUSTER
    // SLOTS after 60 s) is thrown away and a fresh one started, once; the first failure is printed.
    Status first = StartOnce(masters, replicas);
    if (first.ok() || first.code() != StatusCode::kUnavailable) return first;
    std::fprintf(stderr, "redis cluster harness: %s\nstarting a fresh cluster\n", first.ToString().substr(0, 400).c_str());
    Stop();
    nodes_.clear();
    return StartOnce(masters, replicas);
  }

  Status StartOnce(int masters, int replicas) {
    char tmpl[] = "/tmp/vane-redis-cluster-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::IoError("mkdtemp failed");
    root_ = tmpl;
    for (int i = 0; i < masters * (1 + replicas); ++i) VANE_RETURN_IF_ERROR(StartNode());
    for (const Node& n : nodes_) VANE_RETURN_IF_ERROR(WaitForPing(n));
    std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
    for (const Node& n : nodes_) create.push_back(n.address());
    for (std::string a : {std::string("--cluster-replicas"), std::to_string(replicas), std::string("--cluster-yes")}) {
      create.push_back(a);
    }
    std::string out;
    if (Run(create, &out) != 0) return Status::Internal("redis-cli --cluster create failed:\n" + out);
    return WaitUntilHealthy(std::chrono::seconds(60));
  }

  // Stops every node still running (SIGTERM, then SIGKILL after 5 s) and removes the directory.
  void Stop() {
    for (Node& n : nodes_) {
      if (n.pid <= 0) continue;
      kill(n.pid, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (waitpid(n.pid, nullptr, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(n.pid, SIGKILL);
          waitpid(n.pid, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      n.pid = -1;
    }
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
      root_.clear();
    }
  }

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (const Node& n : nodes_) out.push_back(n.address());
    return out;
  }

  // Sends `signal` to the node at `address` and reaps it.
  Status Kill(const std::string& address, int signal = SIGKILL) {
    for (Node& n : nodes_) {
      if (n.address() != address || n.pid <= 0) continue;
      kill(n.pid, signal);
      waitpid(n.pid, nullptr, 0);
      n.pid = -1;
      return Status::Ok();
    }
    return Status::NotFound("no running node at " + address);
  }

  // Starts a stopped node again on its port with its folder (its nodes.conf: it rejoins the cluster, as a replica
  // when its slots were taken over meanwhile; no data survives: persistence is off) and waits for its PING.
  Status Restart(const std::string& address) {
    for (Node& n : nodes_) {
      if (n.address() != address) continue;
      if (n.pid > 0) return Status::FailedPrecondition(address + " is running");
      n.pid = Spawn(ServerArgv(n), -1);
      if (n.pid < 0) return Status::Internal("cannot start redis-server");
      return WaitForPing(n);
    }
    return Status::NotFound("no node " + address);
  }

  // `redis-cli -h 127.0.0.1 -p <port> args...`: its exit status, stdout and stderr in *out.
  int Cli(const Node& n, const std::vector<std::string>& args, std::string* out) const {
    std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(n.port)};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, out);
  }

  // Until every running node reports cluster_state:ok with all 16384 slots ok, every running replica's link to its
  // master is up, and every node's CLUSTER SLOTS names every running node (replicas included).
  Status WaitUntilHealthy(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Healthy(&last)) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Status::Unavailable("the cluster did not become healthy: " + last);
  }

  // The last lines of a node's log, for failure messages.
  std::string LogTail(const Node& n, size_t lines = 20) const {
    std::ifstream in(n.dir + "/redis.log");
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
    return out;
  }

 private:
  static bool OnPath(const std::string& tool) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (!dir.empty() && access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
    }
    return false;
  }

  // A port p such that p and its cluster bus port p + 10000 are both free on loopback now, both below Linux's
  // ephemeral range (32768 and up): a port the kernel hands out to outgoing connections can be taken between this
  // check and the server's bind (a clean-clone CI run lost a node's bus port that way).
  static int FreePort() {
    static unsigned seed = static_cast<unsigned>(getpid()) * 2654435761u ^
                           static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (int tries = 0; tries < 200; ++tries) {
      int port = 10000 + static_cast<int>(rand_r(&seed) % 12700);  // bus port at most 32699
      if (BindFree(port) > 0 && BindFree(port + 10000) > 0) return port;
    }
    return -1;
  }
  static int BindFree(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t len = sizeof(addr);
    int got = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      got = ntohs(addr.sin_port);
    }
    close(fd);
    return got;
  }

  Status StartNode() {
    Node n;
    n.port = FreePort();
    if (n.port < 0) return Status::Unavailable("no free loopback port pair for a redis node");
    n.dir = root_ + "/" + std::to_string(n.port);
    std::filesystem::create_directories(n.dir);
    n.pid = Spawn(ServerArgv(n), -1);
    if (n.pid < 0) return Status::Internal("cannot start redis-server");
    nodes_.push_back(n);
    return Status::Ok();
  }

  static std::vector<std::string> ServerArgv(const Node& n) {
    return {
        "redis-server", "--port", std::to_string(n.port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
        "--cluster-config-file", n.dir + "/nodes.conf", "--cluster-node-timeout", "3000", "--dir", n.dir,
        "--appendonly", "no",
        // CLUSTER SLOTS lists a replica once its replication offset is non-zero: a ping each second moves it.
        "--repl-ping-replica-period", "1",
        // A replica's first sync starts at once (the default waits 5 s for more replicas to share it).
        "--repl-diskless-sync-delay", "0", "--save", "", "--daemonize", "no", "--logfile", n.dir + "/redis.log"};
  }

  Status WaitForPing(const Node& n) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(n.pid, nullptr, WNOHANG) != 0) {
        // Unavailable (the caller starts a fresh cluster on new ports) when another process took the port first.
        std::string tail = LogTail(n);
        std::string what = "redis-server on port " + std::to_string(n.port) + " exited:\n" + tail;
        if (tail.find("Address already in use") != std::string::npos) return Status::Unavailable(what);
        return Status::Internal(what);
      }
      if (Cli(n, {"ping"}, &out) == 0 && out.find("PONG") != std::string::npos) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::Unavailable("redis-server on port " + std::to_string(n.port) + " never answered PING:\n" +
                               LogTail(n));
  }

  bool Healthy(std::string* why) const {
    for (const Node& n : nodes_) {
      if (n.pid <= 0) continue;
      std::string info, repl;
      Cli(n, {"cluster", "info"}, &info);
      if (info.find("cluster_state:ok") == std::string::npos ||
          info.find("cluster_slots_ok:16384") == std::string::npos) {
        *why = n.address() + " says:\n" + info;
        return false;
      }
      Cli(n, {"info", "replication"}, &repl);
      if (repl.find("role:slave") != std::string::npos && repl.find("master_link_status:up") == std::string::npos) {
        *why = n.address() + " (replica) says:\n" + repl;
        return false;
      }
      std::string slots;
      Cli(n, {"cluster", "slots"}, &slots);
      if (NodeIdsIn(slots) != Running()) {
        *why = n.address() + " lists " + std::to_string(NodeIdsIn(slots)) + " of " + std::to_string(Running()) +
               " nodes in CLUSTER SLOTS:\n" + slots;
        return false;
      }
    }
    return true;
  }

  size_t Running() const {
    size_t running = 0;
    for (const Node& n : nodes_) running += n.pid > 0;
    return running;
  }
  // How many node ids (40 hex digits on a line of their own) redis-cli printed.
  static size_t NodeIdsIn(const std::string& text) {
    std::stringstream lines(text);
    size_t ids = 0;
    for (std::string line; std::getline(lines, line);) {
      ids += line.size() == 40 && line.find_first_not_of("0123456789abcdef") == std::string::npos;
    }
    return ids;
  }

  // Starts argv[0] from PATH with stdout and stderr to `out_fd` (or /dev/null when -1); dies with this process.
  static pid_t Spawn(const std::vector<std::string>& argv, int out_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    int fd = out_fd >= 0 ? out_fd : open("/dev/null", O_WRONLY);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }

  // Runs argv to completion: its exit status, and its stdout and stderr in *out.
  static int Run(const std::vector<std::string>& argv, std::string* out) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = Spawn(argv, fds[1]);
    close(fds[1]);
    out->clear();
    char buf[4096];
    for (ssize_t got; (got = read(fds[0], buf, sizeof(buf))) > 0;) out->append(buf, static_cast<size_t>(got));
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string root_;
  std::vector<Node> nodes_;
};

// One cluster per test binary for the tests that do not change its shape: started at the first use, stopped at
// exit. *started says whether it came up.
inline RedisClusterHarness& SharedRedisCluster(Status* started) {
  static auto* h = new RedisClusterHarness();
  static Status s = h->Start();
  static struct Stopper {
    ~Stopper() { delete h; }
  } stopper;
  *started = s;
  return *h;
}

// Client options for a harness's cluster: its nodes as seeds.
inline cluster::RedisClusterOptions OptionsFor(const RedisClusterHarness& h, int max_attempts = 16) {
  cluster::RedisClusterOptions opt;
  opt.seeds = h.addresses();
  opt.max_attempts = max_attempts;
  return opt;
}

}  // namespace vane::testing
