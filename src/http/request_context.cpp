#include "cutout/http/request_context.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <httplib.h>

#include "cutout/logging/logging.hpp"

namespace cutout::http {
namespace {

thread_local std::optional<RequestInfo> t_request;

bool is_lower_hex(std::string_view text, std::size_t length) {
  return text.size() == length && text.find_first_not_of("0123456789abcdef") == std::string_view::npos &&
         text.find_first_not_of('0') != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view header) {
  header = trim(header);
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55 characters.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  const std::string_view version = header.substr(0, 2);
  if (version.find_first_not_of("0123456789abcdef") != std::string_view::npos || version == "ff") {
    return std::nullopt;
  }
  if (version == "00" && header.size() != 55) return std::nullopt;
  if (header.size() > 55 && header[55] != '-') return std::nullopt;
  const std::string_view flags = header.substr(53, 2);
  if (flags.find_first_not_of("0123456789abcdef") != std::string_view::npos) return std::nullopt;
  TraceContext trace{std::string(header.substr(3, 32)), std::string(header.substr(36, 16)), false};
  if (!is_lower_hex(trace.trace_id, 32) || !is_lower_hex(trace.span_id, 16)) return std::nullopt;
  trace.sampled = (std::strtoul(std::string(flags).c_str(), nullptr, 16) & 1u) != 0;
  return trace;
}

std::optional<TraceContext> parse_cloud_trace_context(std::string_view header) {
  header = trim(header);
  const auto slash = header.find('/');
  std::string trace_id(header.substr(0, slash));
  for (char& c : trace_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!is_lower_hex(trace_id, 32)) return std::nullopt;
  TraceContext trace{trace_id, "", false};
  if (slash == std::string_view::npos) return trace;
  std::string_view rest = header.substr(slash + 1);
  const auto semicolon = rest.find(';');
  const std::string_view span = rest.substr(0, semicolon);
  if (!span.empty() && span.size() <= 20 && span.find_first_not_of("0123456789") == std::string_view::npos) {
    errno = 0;
    const unsigned long long value = std::strtoull(std::string(span).c_str(), nullptr, 10);
    if (errno == 0 && value != 0) {
      char hex[17];
      std::snprintf(hex, sizeof(hex), "%016llx", value);
      trace.span_id = hex;
    }
  }
  if (semicolon != std::string_view::npos) trace.sampled = rest.substr(semicolon + 1) == "o=1";
  return trace;
}

bool is_acceptable_request_id(std::string_view id) {
  static constexpr std::string_view kAllowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/+=-";
  return !id.empty() && id.size() <= kMaxRequestIdLength && id.find_first_not_of(kAllowed) == std::string_view::npos;
}

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char id[33];
  std::snprintf(id, sizeof(id), "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return id;
}

std::string client_address(const httplib::Request& request, int trusted_proxy_hops) {
  if (trusted_proxy_hops <= 0 || !request.has_header("X-Forwarded-For")) return request.remote_addr;
  // Several X-Forwarded-For headers read as one list, in order.
  std::vector<std::string> entries;
  const std::size_t count = request.get_header_value_count("X-Forwarded-For");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string value = request.get_header_value("X-Forwarded-For", i);
    std::size_t start = 0;
    while (start <= value.size()) {
      const std::size_t comma = std::min(value.find(',', start), value.size());
      entries.emplace_back(trim(std::string_view(value).substr(start, comma - start)));
      start = comma + 1;
    }
  }
  const auto hops = static_cast<std::size_t>(trusted_proxy_hops);
  if (entries.size() < hops) return request.remote_addr;
  const std::string& chosen = entries[entries.size() - hops];
  // An address, not free text: IPv4/IPv6 characters only.
  if (chosen.empty() || chosen.size() > 45 ||
      chosen.find_first_not_of("0123456789abcdefABCDEF.:[]") != std::string::npos) {
    return request.remote_addr;
  }
  return chosen;
}

void RequestTracing::begin(const httplib::Request& request, httplib::Response& response) const {
  RequestInfo info;
  const std::string given = request.get_header_value("X-Request-Id");
  info.request_id = is_acceptable_request_id(given) ? given : new_request_id();
  info.client_address = client_address(request, hops_);
  info.method = request.method;
  info.url = request.target.empty() ? request.path : request.target;
  info.trace = parse_traceparent(request.get_header_value("traceparent"));
  if (!info.trace) info.trace = parse_cloud_trace_context(request.get_header_value("X-Cloud-Trace-Context"));
  response.set_header("X-Request-Id", info.request_id);

  nlohmann::json context = {{"request_id", info.request_id}};
  if (info.trace) {
    if (!project_.empty()) {
      context["logging.googleapis.com/trace"] = "projects/" + project_ + "/traces/" + info.trace->trace_id;
    } else {
      context["trace_id"] = info.trace->trace_id;
    }
    if (!info.trace->span_id.empty()) context["logging.googleapis.com/spanId"] = info.trace->span_id;
    context["logging.googleapis.com/trace_sampled"] = info.trace->sampled;
  }
  set_thread_log_context(std::move(context));
  t_request = std::move(info);
}

void RequestTracing::end() {
  clear_thread_log_context();
  t_request.reset();
}

const RequestInfo* current_request() { return t_request ? &*t_request : nullptr; }

nlohmann::json reported_error_fields(const char* file, int line, const char* function) {
  const char* service = std::getenv("K_SERVICE");
  const char* revision = std::getenv("K_REVISION");
  nlohmann::json context = {
      {"reportLocation", {{"filePath", file}, {"lineNumber", line}, {"functionName", function}}}};
  if (const RequestInfo* request = current_request()) {
    context["httpRequest"] = {{"method", request->method},
                              {"url", request->url},
                              {"remoteIp", request->client_address}};
  }
  return {{"@type", "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"},
          {"serviceContext",
           {{"service", service != nullptr && *service != '\0' ? service : "cutout-server"},
            {"version", revision != nullptr && *revision != '\0' ? revision : "0.1.0"}}},
          {"context", context}};
}

}  // namespace cutout::http
