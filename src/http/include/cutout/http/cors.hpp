#pragma once
// CORS for the browser upload calls: exact-origin allow-list, never a reflected arbitrary origin.

#include <string>
#include <vector>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace cutout::http {

class CorsPolicy {
 public:
  // `allowed_headers`: the request headers a page may send (the preflight's Allow-Headers).
  CorsPolicy(std::vector<std::string> allowed_origins, std::vector<std::string> allowed_headers);

  // The Access-Control-Allow-Origin value for this Origin, or "" when not allowed.
  std::string allowed_origin(const std::string& origin) const;

  // Adds the CORS headers to any response for an allowed Origin.
  void apply(const httplib::Request& request, httplib::Response& response) const;

  // True for a CORS preflight (OPTIONS with Access-Control-Request-Method): answers it, 204 when
  // allowed and 403 JSON when not.
  bool answer_preflight(const httplib::Request& request, httplib::Response& response) const;

 private:
  std::vector<std::string> allowed_;
  std::string allow_headers_;  // comma-separated
  bool any_ = false;
};

}  // namespace cutout::http
