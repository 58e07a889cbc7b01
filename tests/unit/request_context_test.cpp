// Reading a request's trace, ID and client address; the Error Reporting fields.

#include "cutout/http/request_context.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

namespace cutout::http {
namespace {

TEST(RequestContext, Traceparent) {
  const auto t = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(t->sampled);
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
  // A later version: its first four fields, more may follow.
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // invalid version
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 has no more
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
}

TEST(RequestContext, CloudTraceContext) {
  auto t = parse_cloud_trace_context("105445aa7843bc8bf206b12000100000/1;o=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "105445aa7843bc8bf206b12000100000");
  EXPECT_EQ(t->span_id, "0000000000000001");
  EXPECT_TRUE(t->sampled);
  t = parse_cloud_trace_context("105445AA7843BC8BF206B12000100000/18446744073709551615;o=0");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "105445aa7843bc8bf206b12000100000");
  EXPECT_EQ(t->span_id, "ffffffffffffffff");
  EXPECT_FALSE(t->sampled);
  t = parse_cloud_trace_context("105445aa7843bc8bf206b12000100000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->span_id, "");
  // A span over 64 bits is dropped, the trace kept.
  EXPECT_EQ(parse_cloud_trace_context("105445aa7843bc8bf206b12000100000/18446744073709551616")->span_id, "");
  for (const char* bad : {"", "xyz/1;o=1", "105445aa7843bc8bf206b1200010000/1", "00000000000000000000000000000000/1"}) {
    EXPECT_FALSE(parse_cloud_trace_context(bad)) << bad;
  }
}

TEST(RequestContext, RequestIdsAreBoundedAndSanitised) {
  EXPECT_TRUE(is_acceptable_request_id("abc-123_x.y:z@w/+="));
  EXPECT_TRUE(is_acceptable_request_id(std::string(kMaxRequestIdLength, 'a')));
  EXPECT_FALSE(is_acceptable_request_id(std::string(kMaxRequestIdLength + 1, 'a')));
  EXPECT_FALSE(is_acceptable_request_id(""));
  EXPECT_FALSE(is_acceptable_request_id("a b"));
  EXPECT_FALSE(is_acceptable_request_id("a\"}\n{\"severity\":\"ERROR\""));
  const std::string a = new_request_id(), b = new_request_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(is_acceptable_request_id(a));
  EXPECT_NE(a, b);
}

httplib::Request with_forwarded(std::vector<std::string> values) {
  httplib::Request r;
  r.remote_addr = "169.254.1.1";
  for (auto& v : values) r.headers.emplace("X-Forwarded-For", v);
  return r;
}

TEST(RequestContext, ClientAddressFromForwardedForOnlyWhenTrusted) {
  EXPECT_EQ(client_address(with_forwarded({"203.0.113.7"}), 0), "169.254.1.1");
  EXPECT_EQ(client_address(with_forwarded({"203.0.113.7"}), 1), "203.0.113.7");
  // A client that sends its own header cannot choose its address: the proxy appended the real one.
  EXPECT_EQ(client_address(with_forwarded({"1.2.3.4, 203.0.113.7"}), 1), "203.0.113.7");
  EXPECT_EQ(client_address(with_forwarded({"1.2.3.4, 203.0.113.7, 10.0.0.2"}), 2), "203.0.113.7");
  EXPECT_EQ(client_address(with_forwarded({"1.2.3.4", "2001:db8::1"}), 1), "2001:db8::1");
  EXPECT_EQ(client_address(with_forwarded({"203.0.113.7"}), 2), "169.254.1.1");  // fewer than trusted
  EXPECT_EQ(client_address(with_forwarded({}), 1), "169.254.1.1");
  EXPECT_EQ(client_address(with_forwarded({"not an address"}), 1), "169.254.1.1");
}

TEST(RequestContext, ReportedErrorFields) {
  const auto fields = reported_error_fields("src/x.cpp", 12, "f");
  EXPECT_EQ(fields["@type"], "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent");
  EXPECT_TRUE(fields["serviceContext"]["service"].is_string());
  EXPECT_EQ(fields["context"]["reportLocation"]["lineNumber"], 12);
  EXPECT_FALSE(fields["context"].contains("httpRequest"));  // no request on this thread
}

}  // namespace
}  // namespace cutout::http
