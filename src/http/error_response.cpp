#include "cutout/http/error_response.hpp"

#include <memory>

#include <c10/util/Exception.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cutout/core/error.hpp"
#include "cutout/core/logging.hpp"

namespace cutout::http {
namespace {

constexpr int kRetryAfterNotReadyS = 5;
constexpr int kRetryAfterBusyS = 1;

thread_local std::string t_error_type;

ErrorReply from_error(const Error& e) {
  ErrorReply r;
  r.type = e.type();
  r.message = e.what();
  switch (e.kind()) {
    case ErrorKind::InvalidArgument: r.status = 400; break;
    case ErrorKind::PayloadTooLarge: r.status = 413; break;
    case ErrorKind::UnsupportedMediaType: r.status = 415; break;
    case ErrorKind::NotReady:
      r.status = 503;
      r.retry_after_s = kRetryAfterNotReadyS;
      break;
    case ErrorKind::Overloaded:
      r.status = 503;
      r.retry_after_s = kRetryAfterBusyS;
      break;
    case ErrorKind::Internal: r.status = 500; break;
  }
  return r;
}

ErrorReply internal(const std::string& type, const std::string& detail) {
  // The detail goes to the log, not to the client.
  log_event(spdlog::level::err, "internal error", {{"type", type}, {"detail", detail}});
  return ErrorReply{500, type, "internal error while processing the request", std::nullopt};
}

}  // namespace

ErrorReply describe_exception(std::exception_ptr error) noexcept {
  try {
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      ErrorReply r = from_error(e);
      if (r.status == 500) log_event(spdlog::level::err, "internal error", {{"type", r.type}, {"detail", r.message}});
      return r;
    } catch (const c10::Error& e) {  // not a std::runtime_error: caught on its own
      return internal("inference_failed", e.what_without_backtrace());
    } catch (const cv::Exception& e) {
      return internal("image_processing_failed", e.what());
    } catch (const std::bad_alloc&) {
      return internal("out_of_memory", "std::bad_alloc");
    } catch (const std::exception& e) {
      return internal("internal", e.what());
    } catch (...) {
      return internal("internal", "unknown exception");
    }
  } catch (...) {
    return ErrorReply{};
  }
}

ErrorReply reply_for_status(int status) {
  switch (status) {
    case 400: return {400, "bad_request", "the request could not be parsed", std::nullopt};
    case 404: return {404, "not_found", "no such endpoint", std::nullopt};
    case 405: return {405, "method_not_allowed", "method not allowed on this endpoint", std::nullopt};
    case 413: return {413, "body_too_large", "the request body is over the limit", std::nullopt};
    case 414: return {414, "uri_too_long", "the request URI is too long", std::nullopt};
    case 415: return {415, "unsupported_media_type", "unsupported content type", std::nullopt};
    default:
      return {status, status >= 500 ? "internal" : "http_error",
              "HTTP status " + std::to_string(status), std::nullopt};
  }
}

nlohmann::json error_object(const ErrorReply& reply) {
  return {{"error", {{"code", reply.status}, {"type", reply.type}, {"message", reply.message}}}};
}

std::string error_json(const ErrorReply& reply) {
  return error_object(reply).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::string& error_type_on_this_thread() noexcept { return t_error_type; }

void clear_error_type_on_this_thread() noexcept { t_error_type.clear(); }

void send_error(httplib::Response& response, const ErrorReply& reply) {
  t_error_type = reply.type;
  response.status = reply.status;
  if (reply.retry_after_s) response.set_header("Retry-After", std::to_string(*reply.retry_after_s));
  response.set_content(error_json(reply), "application/json");
}

void send_error_and_close(httplib::Response& response, const ErrorReply& reply) {
  t_error_type = reply.type;
  response.status = reply.status;
  if (reply.retry_after_s) response.set_header("Retry-After", std::to_string(*reply.retry_after_s));
  response.set_header("Connection", "close");
  auto body = std::make_shared<std::string>(error_json(reply));
  response.set_content_provider(
      body->size(), "application/json",
      [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        sink.write(body->data() + offset, length);
        return false;  // everything is written; "failure" makes httplib drop the connection
      });
}

}  // namespace cutout::http
