#include "cutout/http/cors.hpp"

#include <algorithm>

#include <httplib.h>

#include "cutout/http/error_response.hpp"
#include "cutout/http/result_headers.hpp"

namespace cutout::http {

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins, std::vector<std::string> allowed_headers)
    : allowed_(std::move(allowed_origins)) {
  any_ = std::find(allowed_.begin(), allowed_.end(), "*") != allowed_.end();
  for (const auto& name : allowed_headers) allow_headers_ += (allow_headers_.empty() ? "" : ", ") + name;
}

std::string CorsPolicy::allowed_origin(const std::string& origin) const {
  if (origin.empty()) return "";
  // "*" answers "*" (no credentials are ever allowed), not the caller's origin echoed back.
  if (any_) return "*";
  return std::find(allowed_.begin(), allowed_.end(), origin) != allowed_.end() ? origin : "";
}

void CorsPolicy::apply(const httplib::Request& request, httplib::Response& response) const {
  const std::string allow = allowed_origin(request.get_header_value("Origin"));
  if (!allowed_.empty()) response.set_header("Vary", "Origin");
  if (allow.empty()) return;
  response.set_header("Access-Control-Allow-Origin", allow);
  // Lets the page read the stage timings, the back-off hint and the result's size and box.
  response.set_header("Access-Control-Expose-Headers", kExposedHeaders);
}

bool CorsPolicy::answer_preflight(const httplib::Request& request, httplib::Response& response) const {
  if (request.method != "OPTIONS" || !request.has_header("Access-Control-Request-Method")) {
    return false;
  }
  const std::string allow = allowed_origin(request.get_header_value("Origin"));
  if (allow.empty()) {
    send_error(response, ErrorReply{403, "cors_origin_not_allowed",
                                    "this origin is not allowed (see --cors-origin)", std::nullopt});
    return true;
  }
  response.status = 204;
  response.set_header("Access-Control-Allow-Origin", allow);
  response.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  // The configured list, whatever the preflight asked for: the browser checks its own request
  // against it. (No credentials mode: an Authorization header is a plain request header here.)
  if (!allow_headers_.empty()) response.set_header("Access-Control-Allow-Headers", allow_headers_);
  response.set_header("Access-Control-Max-Age", "600");
  response.set_header("Vary", "Origin");
  return true;
}

}  // namespace cutout::http
