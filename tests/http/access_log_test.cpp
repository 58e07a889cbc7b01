// The access log: every 4xx/5xx line carries the error type the client got, whichever code made
// the answer (a handler, the body reader, the pre-routing hook, the library's own statuses).
// Lines are captured from the JSON logger through a test sink.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include "cutout/logging/logging.hpp"
#include "support/fixtures.hpp"
#include "cutout/http/connections.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;

// Keeps every formatted line; the server logs from its worker threads after the answer is sent,
// so the test waits for the line instead of reading at once.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // The access line for `request` ("POST /remove-background 400"), waiting up to 10 s for it.
  json access_line(const std::string& request) {
    std::unique_lock<std::mutex> lock(lines_mutex_);
    json found;
    arrived_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (std::size_t i = taken_; i < lines_.size(); ++i) {
        const json line = json::parse(lines_[i], nullptr, false);
        if (line.is_object() && line.value("message", "") == request) {
          found = line;
          taken_ = i + 1;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t text;
    formatter_->format(msg, text);
    {
      std::lock_guard<std::mutex> lock(lines_mutex_);
      lines_.emplace_back(text.data(), text.size());
    }
    arrived_.notify_all();
  }
  void flush_() override {}

 private:
  std::mutex lines_mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> lines_;
  std::size_t taken_ = 0;
};

class AccessLog : public ::testing::Test {
 protected:
  void SetUp() override { setup_logging(LogFormat::Json, sink_); }
  void TearDown() override { setup_logging(LogFormat::Text); }  // back to stdout

  // The error type on the access line of the request just answered ("" when the line has none).
  std::string logged_type(const std::string& request, int status) {
    const json line = sink_->access_line(request);
    EXPECT_TRUE(line.is_object()) << "no access line '" << request << "'";
    if (!line.is_object()) return "no line";
    EXPECT_EQ(line["httpRequest"]["status"], status) << line;
    return line.contains("error_type") ? line["error_type"].get<std::string>() : "";
  }

  std::shared_ptr<CaptureSink> sink_ = std::make_shared<CaptureSink>();
};

std::string answered_type(const httplib::Result& res) {
  if (!res) return "no response";
  return json::parse(res->body, nullptr, false)["error"]["type"].get<std::string>();
}

TEST_F(AccessLog, EveryErrorLineCarriesTheTypeTheClientGot) {
  config::Settings o = cutout::testing::test_settings();
  o.max_body_bytes = 64 * 1024;
  cutout::testing::InProcessServer server(o);
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(60, 0);
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(32, 24), ".png");

  // A handler's error before the model is ready (503), then after.
  auto res = c.Post("/remove-background", png, "image/png");
  EXPECT_EQ(answered_type(res), "not_ready");
  EXPECT_EQ(logged_type("POST /remove-background 503", 503), "not_ready");
  server.load();

  // Each answer's line is awaited before the next request: a worker writes its line after the
  // answer, and a request on a new connection may be served by another worker meanwhile.
  const auto check = [&](const httplib::Result& r, const std::string& request, int status, const std::string& type) {
    SCOPED_TRACE(request + " " + type);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(answered_type(r), type);
    EXPECT_EQ(logged_type(request, status), type);
  };
  check(c.Post("/remove-background?output=alpha", png, "image/png"), "POST /remove-background 400", 400,
        "invalid_parameter");
  check(c.Post("/remove-background", "not an image", "text/plain"), "POST /remove-background 415", 415,
        "unsupported_media_type");
  check(c.Post("/remove-background", "--b\r\nContent-Type: x\r\n\r\n", "multipart/form-data; boundary=b"),
        "POST /remove-background 400", 400, "invalid_multipart");
  check(c.Post("/remove-background", png, "application/json"), "POST /remove-background 415", 415,
        "unsupported_media_type");
  // The pre-routing hook: an announced body over the limit.
  check(c.Post("/remove-background", std::string(100 * 1024, 'x'), "image/png"), "POST /remove-background 413", 413,
        "body_too_large");
  // The library's own statuses, answered through the error handler.
  check(c.Get("/no-such-endpoint"), "GET /no-such-endpoint 404", 404, "not_found");
  // (414 is answered before the library parses the request line: its method and path are what the
  // connection saw arrive, connections.hpp.)
  check(c.Get("/warmup?" + std::string(9000, 'a')), "GET /warmup 414", 414, "uri_too_long");
  // CORS preflight from an origin not allowed.
  check(c.Options("/remove-background", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}}),
        "OPTIONS /remove-background 403", 403, "cors_origin_not_allowed");
}

TEST_F(AccessLog, SuccessLinesHaveNoErrorTypeEvenAfterAnErrorOnTheSameWorker) {
  config::Settings o = cutout::testing::test_settings();
  o.http_threads = 1;  // one worker: the error and the success run on the same thread
  o.max_connections = 1;  // and no other (a connection gets its own thread, connections.hpp)
  cutout::testing::InProcessServer server(o);
  server.load();
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(60, 0);
  c.set_keep_alive(true);
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(32, 24), ".png");
  ASSERT_EQ(c.Post("/remove-background?colour=red", png, "image/png")->status, 400);
  EXPECT_EQ(logged_type("POST /remove-background 400", 400), "unknown_parameter");
  ASSERT_EQ(c.Post("/remove-background", png, "image/png")->status, 200);
  EXPECT_EQ(logged_type("POST /remove-background 200", 200), "");
  ASSERT_EQ(c.Get("/warmup")->status, 200);
  EXPECT_EQ(logged_type("GET /warmup 200", 200), "");
}

// Requests the library refuses before routing (no hook sees them start) logged the latency since
// the previous request on the worker, or since the clock's epoch, and no method or path. Now: the
// method and target the connection saw arrive (the first 256 bytes of the line are kept), the
// latency from the request's first byte, and refused_before_routing.
TEST_F(AccessLog, RefusalsBeforeRoutingLogWhatArrivedAndATrueLatency) {
  config::Settings o = cutout::testing::test_settings();
  o.http_threads = 1;  // one worker: a stale start from the request before would be on this thread
  cutout::testing::InProcessServer server(o);
  server.load();
  httplib::Client c("127.0.0.1", server.port());
  ASSERT_EQ(c.Get("/warmup")->status, 200);
  const json timed = sink_->access_line("GET /warmup 200");
  ASSERT_TRUE(timed.is_object());
  EXPECT_TRUE(timed["httpRequest"].contains("latency")) << timed;
  EXPECT_FALSE(timed.contains("refused_before_routing")) << timed;

  const auto raw = [&](const std::string& request) {
    // A request line the client library would not send: a socket of our own.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    shutdown(fd, SHUT_WR);  // nothing more comes: the server closes after its answer
    char buf[4096];
    while (recv(fd, buf, sizeof(buf), 0) > 0) {
    }
    close(fd);
  };
  // The bogus latency was the time since the worker's previous request: wait long enough that it
  // would show.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto refused = [&](const std::string& message, int status, const std::string& method,
                           const std::string& url) {
    SCOPED_TRACE(message);
    const json line = sink_->access_line(message);
    ASSERT_TRUE(line.is_object()) << "no access line '" << message << "'";
    EXPECT_EQ(line["httpRequest"]["status"], status);
    EXPECT_EQ(line["httpRequest"]["requestMethod"], method);
    EXPECT_EQ(line["httpRequest"]["requestUrl"], url);
    ASSERT_TRUE(line.contains("duration_ms")) << line;
    EXPECT_LT(line["duration_ms"].get<double>(), 2000.0) << line;  // not the 3 s since /warmup
    EXPECT_TRUE(line["httpRequest"].contains("latency")) << line;
    EXPECT_EQ(line.value("refused_before_routing", false), true) << line;
  };
  raw("GET /warmup HTTP/9.9\r\nConnection: close\r\n\r\n");  // the line splits: method and target known
  refused("GET /warmup 400", 400, "GET", "/warmup");
  raw("GET / HTTP/1.1\n\n");  // bare LF: the library refuses the line before it is split
  refused("GET / 400", 400, "GET", "/");
  raw("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::string kept = "/" + std::string(kRequestLinePrefixBytes - 5, 'a') + "...";  // "GET " + 252
  refused("GET " + kept + " 414", 414, "GET", kept);
}

// --log-format text: a path or header with a line break (a decoded %0A) could write a line of its
// own into the log, and a value with spaces could pose as more key=value fields.
TEST(TextLog, ClientTextCannotForgeALineOrAField) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  setup_logging(LogFormat::Text, sink);
  log_event(spdlog::level::info, "GET /a\n2026-01-01T00:00:00.000 INFO  forged 200",
            {{"userAgent", "x\r\nERROR forged status=500"}, {"plain", "curl/8.0"}, {"n", 3}});
  setup_logging(LogFormat::Text);  // back to stdout
  const std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;  // one line, ended once
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_NE(text.find("GET /a\\x0a2026-01-01"), std::string::npos) << text;
  EXPECT_NE(text.find("userAgent=\"x\\r\\nERROR forged status=500\""), std::string::npos) << text;
  EXPECT_NE(text.find(" plain=curl/8.0"), std::string::npos) << text;  // plain values stay bare
  EXPECT_NE(text.find(" n=3"), std::string::npos) << text;
}

}  // namespace
}  // namespace cutout::http
