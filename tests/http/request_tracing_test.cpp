// Following a request through the logs, in-process: the log lines (captured with a spdlog sink)
// of a traced request carry its trace, span and request ID; X-Request-Id is answered; the access
// line has the query and, behind a trusted proxy, the client's address; an internal error is logged
// once, in Error Reporting's shape, joined to its request.

#include <chrono>
#include <mutex>
#include <string>
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
using cutout::testing::InProcessServer;
using cutout::testing::test_settings;

// Keeps every formatted line.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<json> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<json> out;
    for (const auto& text : lines_) out.push_back(json::parse(text));
    return out;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    lines_.emplace_back(buf.data(), buf.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

class RequestTracingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<CaptureSink>();
    setup_logging(LogFormat::Json, sink_);
  }
  void TearDown() override { setup_logging(LogFormat::Text); }

  // The lines that carry `request_id`, once its access line (written after the answer) is there.
  std::vector<json> lines_of(const std::string& request_id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      std::vector<json> mine;
      bool access = false;
      for (const auto& line : sink_->lines()) {
        if (line.value("request_id", "") != request_id) continue;
        mine.push_back(line);
        access = access || line.contains("httpRequest");
      }
      if (access || std::chrono::steady_clock::now() > deadline) return mine;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::shared_ptr<CaptureSink> sink_;
};

httplib::Client client_of(const InProcessServer& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);
  return c;
}

std::string png() { return cutout::testing::encode_as(cutout::testing::make_picture(32, 24), ".png"); }

const char* kTraceKey = "logging.googleapis.com/trace";
const char* kSpanKey = "logging.googleapis.com/spanId";

TEST_F(RequestTracingTest, TraceparentAndRequestIdOnEveryLineOfTheRequest) {
  config::Settings o = test_settings();
  o.trace_project = "my-project";
  InProcessServer s(o);
  s.load();
  auto res = client_of(s).Post("/remove-background?format=png&output=mask",
                               {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                                {"X-Request-Id", "client-id-123"}},
                               png(), "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("X-Request-Id"), "client-id-123");
  const auto lines = lines_of("client-id-123");
  ASSERT_FALSE(lines.empty());
  bool access = false;
  for (const auto& line : lines) {
    EXPECT_EQ(line[kTraceKey], "projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736") << line;
    EXPECT_EQ(line[kSpanKey], "00f067aa0ba902b7") << line;
    EXPECT_EQ(line["logging.googleapis.com/trace_sampled"], true) << line;
    if (line.contains("httpRequest")) {
      access = true;
      EXPECT_EQ(line["httpRequest"]["requestUrl"], "/remove-background?format=png&output=mask");
      EXPECT_EQ(line["httpRequest"]["remoteIp"], "127.0.0.1");
    }
  }
  EXPECT_TRUE(access) << "no access line for the request";
  // Lines of other requests (and of no request) carry none of it.
  for (const auto& line : sink_->lines()) {
    if (line.value("request_id", "") != "client-id-123") EXPECT_FALSE(line.contains(kTraceKey)) << line;
  }
}

TEST_F(RequestTracingTest, CloudTraceContextAndAMadeRequestId) {
  config::Settings o = test_settings();
  o.trace_project = "p2";
  InProcessServer s(o);
  s.load();
  // An unacceptable X-Request-Id (a forged log line) is replaced by a made one.
  auto res = client_of(s).Get("/warmup?timeout_ms=1000",
                              {{"X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/17;o=0"},
                               {"X-Request-Id", "x\"}\n{\"severity\":\"ERROR\"}"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const std::string id = res->get_header_value("X-Request-Id");
  ASSERT_EQ(id.size(), 32u) << id;
  const auto lines = lines_of(id);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    EXPECT_EQ(line[kTraceKey], "projects/p2/traces/105445aa7843bc8bf206b12000100000");
    EXPECT_EQ(line[kSpanKey], "0000000000000011");
    EXPECT_EQ(line["logging.googleapis.com/trace_sampled"], false);
  }
  // Without any trace header: the request ID still, no trace.
  res = client_of(s).Get("/warmup");
  ASSERT_TRUE(res);
  const auto plain = lines_of(res->get_header_value("X-Request-Id"));
  ASSERT_FALSE(plain.empty());
  for (const auto& line : plain) EXPECT_FALSE(line.contains(kTraceKey)) << line;
}

TEST_F(RequestTracingTest, ClientAddressFromTrustedProxyOnly) {
  for (int hops : {0, 1}) {
    config::Settings o = test_settings();
    o.trusted_proxy_hops = hops;
    InProcessServer s(o);
    auto res = client_of(s).Get("/warmup?timeout_ms=0", {{"X-Forwarded-For", "198.51.100.9, 203.0.113.7"},
                                                         {"X-Request-Id", "hops-" + std::to_string(hops)}});
    ASSERT_TRUE(res);
    const auto lines = lines_of("hops-" + std::to_string(hops));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back()["httpRequest"]["remoteIp"], hops == 0 ? "127.0.0.1" : "203.0.113.7");
  }
}

TEST_F(RequestTracingTest, InternalErrorLoggedOnceForErrorReportingJoinedToItsRequest) {
  config::Settings o = test_settings("fails_in_forward.pt");
  o.warmup_runs = 0;
  o.trace_project = "p3";
  InProcessServer s(o);
  s.load();
  auto res = client_of(s).Post("/remove-background",
                               {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                                {"X-Request-Id", "failing-1"}},
                               png(), "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 500) << res->body;
  const auto lines = lines_of("failing-1");
  std::vector<json> reports;
  for (const auto& line : lines) {
    if (line.contains("@type")) reports.push_back(line);
  }
  ASSERT_EQ(reports.size(), 1u) << "logged once";
  const json& r = reports[0];
  EXPECT_EQ(r["@type"], "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent");
  EXPECT_EQ(r["severity"], "ERROR");
  EXPECT_TRUE(r["serviceContext"]["service"].is_string());
  EXPECT_TRUE(r["context"]["reportLocation"]["functionName"].is_string());
  EXPECT_EQ(r["context"]["httpRequest"]["method"], "POST");
  EXPECT_EQ(r["context"]["httpRequest"]["url"], "/remove-background");
  EXPECT_EQ(r[kTraceKey], "projects/p3/traces/0af7651916cd43dd8448eb211c80319c");
  EXPECT_NE(r["message"].get<std::string>().find("internal error"), std::string::npos);
  // The client got no detail.
  EXPECT_EQ(json::parse(res->body)["error"]["message"], "internal error while processing the request");
}

}  // namespace
}  // namespace cutout::http
