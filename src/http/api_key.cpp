#include "cutout/http/api_key.hpp"

#include <algorithm>
#include <cctype>

#include <httplib.h>

#include "cutout/http/error_response.hpp"

namespace cutout::http {

bool constant_time_equals(std::string_view given, std::string_view expected) noexcept {
  // Walks all of `expected` whatever `given` holds; the length difference is folded in, not
  // returned early.
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = static_cast<unsigned char>(diff | (g ^ static_cast<unsigned char>(expected[i])));
  }
  return diff == 0;
}

bool ApiKeyCheck::is_open_path(const std::string& path) {
  return path == "/health" || path == "/health/live";
}

bool ApiKeyCheck::admits(const httplib::Request& request) const {
  if (!enabled() || is_open_path(request.path)) return true;
  if (request.has_header("X-API-Key")) {
    return constant_time_equals(request.get_header_value("X-API-Key"), key_);
  }
  const std::string authorization = request.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  // The scheme name is case-insensitive (RFC 9110).
  const bool bearer = authorization.size() > kBearer.size() &&
                      std::equal(kBearer.begin(), kBearer.end(), authorization.begin(), [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a)) ==
                               std::tolower(static_cast<unsigned char>(b));
                      });
  if (bearer) {
    return constant_time_equals(std::string_view(authorization).substr(kBearer.size()), key_);
  }
  return false;
}

void ApiKeyCheck::refuse(httplib::Response& response) {
  // Before the body was read: the connection closes so its unread rest is never parsed.
  send_error_and_close(response, unauthorized());
  response.set_header("WWW-Authenticate", "Bearer realm=\"cutout\"");
}

}  // namespace cutout::http
