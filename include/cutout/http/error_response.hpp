#pragma once
// The one place where failures become HTTP answers: an exception (ours, LibTorch's, OpenCV's or
// anything else) maps to a status and a JSON body {"error":{"code","type","message"}}.

#include <exception>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Response;
}

namespace cutout::http {

struct ErrorReply {
  int status = 500;
  std::string type = "internal";
  std::string message = "internal error";
  std::optional<int> retry_after_s;  // for 503s
};

// Never throws. Internal details (LibTorch backtraces) are not sent to clients.
ErrorReply describe_exception(std::exception_ptr error) noexcept;

// The reply for a status produced outside our handlers (404, 405, 413 from the HTTP library).
ErrorReply reply_for_status(int status);

// {"error":{"code","type","message"}}: as an object (to add fields to) or as text.
nlohmann::json error_object(const ErrorReply& reply);
std::string error_json(const ErrorReply& reply);

// The type of the error answer last made on this thread by send_error or send_error_and_close
// ("" when none since the last clear), for the access log: one worker thread handles a request
// from its pre-routing hook through the library's error handler to its log line.
const std::string& error_type_on_this_thread() noexcept;
void clear_error_type_on_this_thread() noexcept;

// Sets status, JSON body, and Retry-After where due.
void send_error(httplib::Response& response, const ErrorReply& reply);

// The same, then the connection is closed instead of kept alive: for answers given before the
// request body was read (or read to its end), whose unread rest must not be parsed as the next
// request. cpp-httplib 0.11 keeps a connection open whatever the response's Connection header
// says; a body writer that reports failure after writing everything is what makes it close.
void send_error_and_close(httplib::Response& response, const ErrorReply& reply);

}  // namespace cutout::http
