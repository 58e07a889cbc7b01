// Connections (http/connections.hpp) in-process: probes answer while slow and idle clients hold
// connections, total read deadlines, /warmup waiting beside /health, a stop that answers or closes
// every connection at once, and a queued request whose client left never reaching the model.

#include "cutout/http/connections.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>

#include "cutout/logging/logging.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using cutout::testing::InProcessServer;
using cutout::testing::test_settings;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A raw client socket: what slow, idle and departing clients need (httplib::Client sends whole
// requests at once).
class RawSocket {
 public:
  explicit RawSocket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Everything the server sends until it closes the connection; `closed` false when `timeout`
  // passed first.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool* closed) {
    std::string got;
    const auto until = Clock::now() + timeout;
    *closed = false;
    while (Clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0))) <= 0) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// Sends one byte to each slow client every 100 ms, on its own thread, until destroyed.
class Trickle {
 public:
  void add(RawSocket& socket, char byte) { clients_.push_back({&socket, byte}); }
  void start() {
    thread_ = std::thread([this] {
      while (!done_.load()) {
        for (auto& [socket, byte] : clients_) socket->send(std::string(1, byte));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~Trickle() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::vector<std::pair<RawSocket*, char>> clients_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The slow clients of the attack review, each holding one connection:
//   slowloris: a request line and then one header byte at a time;
//   slow body: complete headers announcing 100 kB, then one body byte at a time;
//   bare LF:   a request line, then header lines ended by LF alone (the library skips them);
//   idle:      connected, never sending.
struct SlowClients {
  std::vector<std::unique_ptr<RawSocket>> sockets;
  Trickle trickle;

  SlowClients(int port, int slowloris, int slow_body, int bare_lf, int idle) {
    auto open = [&](const std::string& first, char trickled) {
      sockets.push_back(std::make_unique<RawSocket>(port));
      EXPECT_TRUE(sockets.back()->connected());
      if (!first.empty()) sockets.back()->send(first);
      if (trickled != 0) trickle.add(*sockets.back(), trickled);
    };
    for (int i = 0; i < slowloris; ++i) open("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", 'a');
    for (int i = 0; i < slow_body; ++i) {
      open("POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
           "Content-Length: 100000\r\n\r\n", 'x');
    }
    for (int i = 0; i < bare_lf; ++i) open("GET /health HTTP/1.1\r\nHost: x\r\n", '\n');
    for (int i = 0; i < idle; ++i) open("", 0);
    trickle.start();
  }
};

// The slowest of `rounds` answers to each path, each on a fresh connection (as a prober makes).
double slowest_probe_ms(int port, const std::vector<std::string>& paths, int expected_status, int rounds = 5) {
  double slowest = 0;
  for (int i = 0; i < rounds; ++i) {
    for (const auto& path : paths) {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(5, 0);
      const auto t = Clock::now();
      auto res = c.Get(path.c_str());
      const double ms = ms_since(t);
      EXPECT_TRUE(res) << path << " did not answer: " << httplib::to_string(res.error());
      if (res) {
        EXPECT_EQ(res->status, expected_status) << path << ": " << res->body;
      }
      slowest = std::max(slowest, ms);
    }
  }
  return slowest;
}

// Keeps every log line, for the access lines written after the answers.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // The first line whose message is `message`, waiting up to 10 s.
  json line(const std::string& message) {
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < until) {
      {
        std::lock_guard<std::mutex> lock(lines_mutex_);
        for (const auto& text : lines_) {
          const json j = json::parse(text, nullptr, false);
          if (j.is_object() && j.value("message", "") == message) return j;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return json();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t text;
    formatter_->format(msg, text);
    std::lock_guard<std::mutex> lock(lines_mutex_);
    lines_.emplace_back(text.data(), text.size());
  }
  void flush_() override {}

 private:
  std::mutex lines_mutex_;
  std::vector<std::string> lines_;
};

// One value of /metrics (the test servers serve it on their port).
double metric(int port, const std::string& name) {
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/metrics");
  if (!res || res->status != 200) return -1;
  std::smatch m;
  const std::regex line("\n" + name + " ([0-9.e+]+)\n");
  return std::regex_search(res->body, m, line) ? std::stod(m[1]) : -1;
}

bool wait_for_metric(int port, const std::string& name, double value, std::chrono::seconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (metric(port, name) == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// 8 slowloris, 8 slow-body, 8 bare-LF and 64 idle connections are open: the probes still answer
// in well under a second. (With one worker thread per connection from a pool of 8, as before,
// the first 8 of these held every thread and the probes waited until they ended.)
TEST(Connections, ProbesAnswerWithinASecondWhileSlowAndIdleClientsHoldConnections) {
  InProcessServer s(test_settings());
  s.load();
  SlowClients attack(s.port(), 8, 8, 8, 64);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all accepted and trickling
  const double slowest = slowest_probe_ms(s.port(), {"/health/live", "/health"}, 200);
  std::printf("[ measured ] slowest of 10 /health/live and /health answers with 88 slow/idle "
              "connections open: %.1f ms\n", slowest);
  EXPECT_LT(slowest, 1000.0);
}

// A client sending its headers a byte every 100 ms never trips a per-read timeout; the total
// deadline ends it: 408 request_timeout, and the connection closed.
TEST(Connections, HeadersHaveATotalDeadline) {
  config::Settings o = test_settings();
  o.header_timeout_s = 1;
  InProcessServer s(o);
  SlowClients slowloris(s.port(), 1, 0, 0, 0);
  const auto t = Clock::now();
  bool closed = false;
  const std::string answer =
      slowloris.sockets[0]->read_until_closed(std::chrono::seconds(10), &closed);
  const double ms = ms_since(t);
  std::printf("[ measured ] slowloris headers cut after %.0f ms (deadline 1 s)\n", ms);
  EXPECT_TRUE(closed);
  EXPECT_LT(ms, 5000.0);
  EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
  EXPECT_NE(answer.find("request_timeout"), std::string::npos) << answer;
}

TEST(Connections, BodyHasATotalDeadline) {
  config::Settings o = test_settings();
  o.body_timeout_s = 1;
  InProcessServer s(o);
  s.load();
  SlowClients slow_body(s.port(), 0, 1, 0, 0);
  const auto t = Clock::now();
  bool closed = false;
  const std::string answer = slow_body.sockets[0]->read_until_closed(std::chrono::seconds(10), &closed);
  const double ms = ms_since(t);
  std::printf("[ measured ] slow body cut after %.0f ms (deadline 1 s)\n", ms);
  EXPECT_TRUE(closed);
  EXPECT_LT(ms, 5000.0);
  EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
}

// Eight /warmup callers wait through a slow start: /health still answers (503 loading) at once.
TEST(Connections, WarmupCallersDoNotBlockHealthDuringASlowStart) {
  config::Settings o = test_settings("slow_start.pt");
  o.warmup_runs = 3;  // a second or more per pass of this fixture
  InProcessServer s(o);
  std::thread loader([&] { s.load(); });
  std::vector<std::future<httplib::Result>> waiting;
  for (int i = 0; i < 8; ++i) {
    waiting.push_back(std::async(std::launch::async, [&] {
      httplib::Client c("127.0.0.1", s.port());
      c.set_read_timeout(120, 0);
      return c.Get("/warmup?timeout_ms=120000");
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all eight waiting
  const bool still_loading = !s.readiness().ready();
  const double slowest = slowest_probe_ms(s.port(), {"/health"}, still_loading ? 503 : 200, 3);
  std::printf("[ measured ] slowest /health during a slow start with 8 /warmup callers: %.1f ms "
              "(still loading: %s)\n", slowest, still_loading ? "yes" : "no");
  EXPECT_TRUE(still_loading) << "the start was too quick to test anything";
  EXPECT_LT(slowest, 1000.0);
  loader.join();
  for (auto& w : waiting) {
    auto res = w.get();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
}

// A stop with idle, half-sent-header and half-sent-body connections open takes no time: the idle
// and half-headers ones are closed, the half bodies are answered 503 shutting_down. (Before, the
// stop waited for the keep-alive and read timeouts: 5 s and 30 s.)
TEST(Connections, StopClosesIdleAndHalfSentConnectionsAtOnce) {
  InProcessServer s(test_settings());
  s.load();
  SlowClients open_clients(s.port(), 4, 0, 2, 4);
  RawSocket half_body(s.port());
  ASSERT_TRUE(half_body.send("POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                             "Content-Length: 1000\r\n\r\n0123456789"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t = Clock::now();
  s.stop();
  const double ms = ms_since(t);
  std::printf("[ measured ] stop with 10 idle or half-sent connections open: %.1f ms\n", ms);
  EXPECT_LT(ms, 1000.0);
  bool closed = false;
  const std::string answer = half_body.read_until_closed(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(answer.find("HTTP/1.1 503"), std::string::npos) << answer;
  EXPECT_NE(answer.find("shutting_down"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
  for (auto& socket : open_clients.sockets) {
    socket->read_until_closed(std::chrono::seconds(1), &closed);
    EXPECT_TRUE(closed) << "a connection stayed open after the stop";
  }
}

// With every connection thread busy, a connection still waiting for one when the stop comes gets
// 503 shutting_down and an access line, while the request being handled gets its result. (Before,
// the waiting connection was closed with no answer and no line.)
TEST(Connections, ARequestWaitingAtTheStopIsAnswered503WithALogLine) {
  auto sink = std::make_shared<CaptureSink>();
  setup_logging(LogFormat::Json, sink);
  {
    config::Settings o = test_settings("slow_start.pt");
    o.warmup_runs = 0;
    o.http_threads = 2;
    o.max_connections = 2;
    o.metrics_public = true;
    InProcessServer s(o);
    s.load();
    auto busy = std::async(std::launch::async, [&] {
      httplib::Client c("127.0.0.1", s.port());
      c.set_read_timeout(60, 0);
      return c.Post("/remove-background", cutout::testing::encode_as(cutout::testing::make_picture(32, 32), ".png"),
                    "image/png");
    });
    ASSERT_TRUE(wait_for_metric(s.port(), "cutout_inference_queue_depth", 1, std::chrono::seconds(30)));
    SlowClients slowloris(s.port(), 1, 0, 0, 0);  // holds the other thread
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    RawSocket waiting(s.port());
    ASSERT_TRUE(waiting.send("GET /warmup?timeout_ms=0 HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.stop();
    auto result = busy.get();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << result->body;
    bool closed = false;
    const std::string answer = waiting.read_until_closed(std::chrono::seconds(5), &closed);
    EXPECT_NE(answer.find("HTTP/1.1 503"), std::string::npos) << answer;
    EXPECT_NE(answer.find("shutting_down"), std::string::npos) << answer;
    EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
    EXPECT_TRUE(closed);
    const json line = sink->line("GET /warmup 503");
    ASSERT_TRUE(line.is_object()) << "no access line for the request answered at the stop";
    EXPECT_EQ(line["error_type"], "shutting_down");
  }
  setup_logging(LogFormat::Text);
}

// A request queued behind a slow forward pass whose client closes its socket is dropped at its
// turn: the forward-pass count shows only the first request ran, and the access line says 499.
TEST(Connections, AQueuedRequestWhoseClientLeftNeverReachesTheForwardPass) {
  config::Settings o = test_settings("slow_start.pt");
  o.warmup_runs = 0;
  o.metrics_public = true;
  InProcessServer s(o);
  s.load();
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(32, 32), ".png");
  auto first = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", s.port());
    c.set_read_timeout(60, 0);
    return c.Post("/remove-background", png, "image/png");
  });
  ASSERT_TRUE(wait_for_metric(s.port(), "cutout_inference_queue_depth", 1, std::chrono::seconds(30)));
  {
    RawSocket leaving(s.port());
    ASSERT_TRUE(leaving.send("POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                             "Content-Length: " + std::to_string(png.size()) + "\r\n\r\n" + png));
    ASSERT_TRUE(wait_for_metric(s.port(), "cutout_inference_queue_depth", 2, std::chrono::seconds(30)))
        << "the second request never queued";
  }  // its client closes the socket while it waits
  auto result = first.get();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  ASSERT_TRUE(wait_for_metric(s.port(), "cutout_inference_queue_depth", 0, std::chrono::seconds(30)));
  EXPECT_EQ(metric(s.port(), "cutout_forward_passes_total"), 1.0);
  httplib::Client c("127.0.0.1", s.port());
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("status=\"499\""), std::string::npos) << metrics->body;
}

}  // namespace
}  // namespace cutout::http
