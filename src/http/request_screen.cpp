#include "cutout/http/request_screen.hpp"

#include <cctype>
#include <string>

#include <httplib.h>

namespace cutout::http {
namespace {

// Headers cpp-httplib adds to every request itself (Server::process_request).
constexpr const char* kLibraryHeaders[] = {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"};

bool equals_ignoring_case(const std::string& a, const char* b) {
  std::size_t i = 0;
  for (; i < a.size() && b[i] != '\0'; ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return i == a.size() && b[i] == '\0';
}

// True when the request announces a body: a non-zero Content-Length, or any Transfer-Encoding
// (a chunked body of zero bytes is still read by the library, and costs a refusal nothing).
bool announces_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  const std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length.find_first_not_of('0') != std::string::npos;
}

}  // namespace

std::size_t client_header_count(const httplib::Request& req) {
  std::size_t added = 0;
  for (const char* name : kLibraryHeaders) added += req.headers.count(name);
  return req.headers.size() - added;
}

std::optional<ErrorReply> screen_request(const httplib::Request& req) {
  // Counted first: the other checks look headers up, and this one says the most about the client.
  if (client_header_count(req) > kMaxRequestHeaders) return too_many_headers(kMaxRequestHeaders);
  const auto encodings = req.headers.equal_range("Content-Encoding");
  for (auto it = encodings.first; it != encodings.second; ++it) {
    if (!equals_ignoring_case(it->second, "identity")) return content_encoding_refused(it->second);
  }
  if (announces_body(req) && req.path != kUploadPath) return body_not_allowed(req.path);
  return std::nullopt;
}

void ignore_range(const httplib::Request& req) { const_cast<httplib::Request&>(req).ranges.clear(); }

}  // namespace cutout::http
