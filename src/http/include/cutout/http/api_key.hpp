#pragma once
// The optional API key: when set, every request but the health probes (and CORS preflights, which
// browsers send without credentials) must carry it, as `X-API-Key: KEY` or
// `Authorization: Bearer KEY`. Compared in constant time; a wrong or missing key gets 401
// `unauthorized` with `WWW-Authenticate: Bearer realm="cutout"`.

#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace cutout::http {

// True when `given` equals `expected`. The time taken depends on expected's length only, not on
// where (or whether) the two differ.
bool constant_time_equals(std::string_view given, std::string_view expected) noexcept;

class ApiKeyCheck {
 public:
  explicit ApiKeyCheck(std::string key) : key_(std::move(key)) {}

  bool enabled() const { return !key_.empty(); }
  // Paths that never need the key: the probes Cloud Run (and a load balancer) call without one.
  static bool is_open_path(const std::string& path);
  // True when the request may go on (no key set, an open path, or the right key).
  bool admits(const httplib::Request& request) const;
  // Writes the 401 answer.
  static void refuse(httplib::Response& response);

 private:
  std::string key_;
};

}  // namespace cutout::http
