#pragma once
// Following a request through the logs. At the start of each request (the server's pre-routing
// hook) the request's trace is read from W3C `traceparent` or, failing that, Google's
// `X-Cloud-Trace-Context`; its ID from `X-Request-Id` (kept when well-formed, else made) and sent
// back; the client's address from the socket, or from `X-Forwarded-For` when the operator says how
// many proxies in front append to it. Every log line the request's thread writes until the access
// line then carries:
//   logging.googleapis.com/trace         projects/PROJECT/traces/TRACE_ID (with a project)
//   logging.googleapis.com/spanId        16 hex digits
//   logging.googleapis.com/trace_sampled true/false
//   request_id                           the X-Request-Id answered
// which Cloud Logging uses to group a request's lines under its trace.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace cutout::http {

struct TraceContext {
  std::string trace_id;  // 32 lowercase hex digits, not all zero
  std::string span_id;   // 16 lowercase hex digits, not all zero
  bool sampled = false;
};

// `00-<32 hex>-<16 hex>-<2 hex flags>` (W3C Trace Context, version 00; later versions are read by
// their first four fields as the spec asks). Nothing for anything else.
std::optional<TraceContext> parse_traceparent(std::string_view header);
// `TRACE_ID/SPAN_ID;o=OPTIONS`, SPAN_ID decimal (64-bit), as Google's front end sends it; the span
// is returned in hex. The span and options may be missing.
std::optional<TraceContext> parse_cloud_trace_context(std::string_view header);

// Longest X-Request-Id kept as given; longer ones, or ones with other characters than
// [A-Za-z0-9._:@/+=-], are replaced by a new ID (a log line must not be forged through it).
constexpr std::size_t kMaxRequestIdLength = 128;
bool is_acceptable_request_id(std::string_view id);
// 32 random hex digits.
std::string new_request_id();

// The client's address: with hops > 0, the entry `hops` places from the right of X-Forwarded-For
// (each trusted proxy appends the address it saw; Cloud Run's front end is one); the socket's
// address when the header has fewer entries, none, or hops is 0.
std::string client_address(const httplib::Request& request, int trusted_proxy_hops);

// What the log lines of the request in progress on this thread know about it.
struct RequestInfo {
  std::string request_id;
  std::string client_address;
  std::string method;
  std::string url;  // path and query, as sent
  std::optional<TraceContext> trace;
};

class RequestTracing {
 public:
  // `project`: the Google Cloud project the trace IDs belong to (empty: the trace field is left
  // out, the IDs are still logged as `trace_id`/`span_id`).
  RequestTracing(std::string project, int trusted_proxy_hops)
      : project_(std::move(project)), hops_(trusted_proxy_hops) {}

  // Reads the request's headers, answers X-Request-Id and sets this thread's log context.
  void begin(const httplib::Request& request, httplib::Response& response) const;
  // Clears it (after the access line).
  static void end();

 private:
  std::string project_;
  int hops_;
};

// The request in progress on this thread, or null outside one.
const RequestInfo* current_request();

// Fields that make an error line one Error Reporting picks up: `@type` ReportedErrorEvent,
// serviceContext (service: K_SERVICE or "cutout-server", version: K_REVISION or the build's),
// context.reportLocation (where it was caught) and context.httpRequest of the current request.
// The trace fields come from the thread's log context, so the line joins its request.
nlohmann::json reported_error_fields(const char* file, int line, const char* function);

}  // namespace cutout::http
