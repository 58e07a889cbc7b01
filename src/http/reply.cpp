#include "cutout/http/reply.hpp"

#include <httplib.h>

#include "cutout/http/connections.hpp"

namespace cutout::http {
namespace {

thread_local std::string t_error_type;

}  // namespace

const std::string& error_type_on_this_thread() noexcept { return t_error_type; }

void clear_error_type_on_this_thread() noexcept { t_error_type.clear(); }

Reply Reply::json(int status, const nlohmann::json& body) {
  Reply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  reply.content_type = "application/json";
  return reply;
}

Reply Reply::error(const ErrorReply& error, const nlohmann::json& extra) {
  nlohmann::json body = error_object(error);
  body.update(extra);
  Reply reply = json(error.status, body);
  reply.error_type = error.type;
  if (error.retry_after_s) reply.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_s));
  return reply;
}

void write_reply(Reply reply, httplib::Response& response) {
  if (!reply.error_type.empty()) t_error_type = reply.error_type;
  for (auto& [name, value] : reply.headers) response.set_header(name, value);
  if (!reply.close_connection) {
    response.status = reply.status;
    response.set_content(std::move(reply.body), reply.content_type);
    return;
  }
  response.status = reply.status;
  response.set_header("Connection", "close");
  // On a connection thread the connection loop closes it (connections.hpp): a plain body, which
  // the library writes even while the server stops (it skips body writers then).
  if (close_after_answer()) {
    response.set_content(std::move(reply.body), reply.content_type);
    return;
  }
  auto body = std::make_shared<std::string>(std::move(reply.body));
  response.set_content_provider(
      body->size(), reply.content_type,
      [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        sink.write(body->data() + offset, length);
        // cpp-httplib 0.11 keeps a connection open whatever the response's Connection header
        // says; a body writer that reports failure after writing everything makes it close.
        return false;
      });
}

}  // namespace cutout::http
