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

  static Reply json(int status, const nlohmann::json& body);
  // The error object, plus `extra` fields beside "error" (e.g. the loading phase of /warmup).
  static Reply error(const ErrorReply& error, const nlohmann::json& extra = nlohmann::json::object());
};

void write_reply(Reply reply, httplib::Response& response);

}  // namespace cutout::http
