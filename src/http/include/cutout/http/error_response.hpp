#pragma once
// The one place where failures become HTTP answers. An error kind (and, for "not ready", the
// start-up state) maps to a status, a Retry-After and the JSON body
// {"error":{"code","type","message"}}; every route and every server hook goes through here.
//
// The policy:
//   InvalidArgument 400, NotAcceptable 406, PayloadTooLarge 413, UnsupportedMediaType 415,
//   Internal 500;
//   NotReady    503 + Retry-After: the start-up's estimated remaining seconds (1..30);
//   ModelFailed 503, no Retry-After: this instance will not recover (it exits 3 and is replaced);
//   Overloaded  503 + Retry-After: 1 s (a forward pass takes well under that on a GPU).
//   ShuttingDown 503 shutting_down + Retry-After: 1 s (another instance will answer);
//   ClientGone  499 (nginx's "client closed request"): nothing is written, the access log says 499.

#include <cstddef>
#include <exception>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Response;
}

namespace cutout {
class Error;
namespace service {
class Readiness;
}
}  // namespace cutout

namespace cutout::http {

// The status logged for a request whose client left before its answer (never sent).
constexpr int kStatusClientGone = 499;

struct ErrorReply {
  int status = 500;
  std::string type = "internal";
  std::string message = "internal error";
  std::optional<int> retry_after_s;  // for 503s
};

class StatusPolicy {
 public:
  // `readiness` must outlive the policy; it is read for the Retry-After of NotReady answers.
  explicit StatusPolicy(const service::Readiness& readiness) : readiness_(readiness) {}

  ErrorReply reply_for(const Error& error) const;
  // Any exception: cutout::Error as above; anything else is a 500 whose detail is logged once and
  // never sent (internal details such as backtraces stay out of answers). Never throws.
  ErrorReply reply_for(std::exception_ptr error) const noexcept;
  // The loading answer of /health and /warmup: 503 with the same Retry-After as NotReady errors.
  int retry_after_while_loading_s() const;
  // 503 model_failed with the start-up's failure reason.
  ErrorReply model_failed() const;

 private:
  const service::Readiness& readiness_;
};

// The reply for a status produced outside our handlers (404, 405, 413 from the HTTP library).
ErrorReply reply_for_status(int status);
// 413 body_too_large, for every place that enforces the body limit.
ErrorReply body_too_large(std::size_t limit_bytes);

// 401 unauthorized: the API key (--api-key) is missing or wrong.
ErrorReply unauthorized();

// The request screening's refusals (request_screen.hpp), made before any body byte is read:
// 415 unsupported_content_encoding (a Content-Encoding other than identity, named in the message),
// 413 body_not_allowed (a body on `path`, which takes none),
// 431 too_many_headers (more than `limit` header lines).
ErrorReply content_encoding_refused(const std::string& encoding);
ErrorReply body_not_allowed(const std::string& path);
ErrorReply too_many_headers(std::size_t limit);

// {"error":{"code","type","message"}}: as an object (to add fields to) or as text.
nlohmann::json error_object(const ErrorReply& reply);
std::string error_json(const ErrorReply& reply);

// Sets status, JSON body, and Retry-After where due. For the server's hooks; routes return a Reply.
void send_error(httplib::Response& response, const ErrorReply& reply);

// The same, then the connection is closed instead of kept alive: for answers given before the
// request body was read (or read to its end), whose unread rest must not be parsed as the next
// request.
void send_error_and_close(httplib::Response& response, const ErrorReply& reply);

}  // namespace cutout::http
