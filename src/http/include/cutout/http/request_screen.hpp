#pragma once
// The screening step of the pre-routing hook (and of the 100-continue answer): refuses, before any
// body byte is read, what the service never uses and the HTTP library would otherwise spend memory
// on. cpp-httplib 0.11.4 inflates gzip, deflate and brotli request bodies itself, with no limit on
// the inflated size; builds multi-range answers in memory; reads any body on any route (a 404 route
// included) into memory, with no limit when it is chunked.
//
//   Content-Encoding (anything but identity)  415 unsupported_content_encoding, Accept-Encoding: identity
//   a body on a route that takes none         413 body_not_allowed (every route but the upload)
//   more than kMaxRequestHeaders header lines 431 too_many_headers
//
// Each refusal closes the connection, so the unread body is never parsed as a next request.
// `Range` is not refused but ignored (see ignore_range).

#include <cstddef>
#include <optional>

#include "cutout/http/error_response.hpp"

namespace httplib {
struct Request;
}

namespace cutout::http {

// Header lines a request may carry. Browsers send 10-20, a proxy chain adds a few (X-Forwarded-*,
// traceparent, Via); 64 leaves room for both. The library has read and stored them all before
// this check runs: it bounds each line (8 KiB), not their number (docs/security.md).
inline constexpr std::size_t kMaxRequestHeaders = 64;

// The one route that reads a body.
inline constexpr const char* kUploadPath = "/remove-background";

// The client's header lines, without the four the library adds itself (REMOTE_ADDR, ...).
std::size_t client_header_count(const httplib::Request& req);

// The refusal for `req`, or nothing when it may be routed. Looks at headers only.
std::optional<ErrorReply> screen_request(const httplib::Request& req);

// RFC 9110 14.2: a server MUST ignore Range on methods other than GET and MAY ignore it on GET. We
// ignore it everywhere: the library parsed it into req.ranges before any hook and would otherwise
// cut our answers into ranges, building a multipart/byteranges body in memory (one copy of the
// range per entry: ~2,700 entries made a 481 KB answer 1.56 GB). The Request is the server's own
// non-const object (hooks get it as const), so clearing it here is defined behaviour.
void ignore_range(const httplib::Request& req);

}  // namespace cutout::http
