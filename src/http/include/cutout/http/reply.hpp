#pragma once
// What a route handler returns: status, body, headers, and whether the connection must close.
// Handlers build one of these and never touch httplib::Response or throw; serve() in routes.cpp
// writes it, and turns any exception into the error reply of the status policy.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cutout/http/error_response.hpp"

namespace httplib {
struct Response;
}

namespace cutout::http {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  // For answers given before the body was read to its end: the unread rest must not be taken for
  // the next request on the connection.
  bool close_connection = false;
  // The error's type for the access log ("" for a success); set by error().
  std::string error_type;

  static Reply json(int status, const nlohmann::json& body);
  // The error object, plus `extra` fields beside "error" (e.g. the loading phase of /warmup).
  static Reply error(const ErrorReply& error, const nlohmann::json& extra = nlohmann::json::object());
};

// Writes `reply` and, for an error, notes its type for the access log of this thread.
void write_reply(Reply reply, httplib::Response& response);

// The type of the error answer last written on this thread by write_reply (send_error and
// send_error_and_close go through it), "" when none since the last clear: for the access log, as
// one worker thread handles a request from its pre-routing hook through the library's error
// handler to its log line.
const std::string& error_type_on_this_thread() noexcept;
void clear_error_type_on_this_thread() noexcept;

}  // namespace cutout::http
