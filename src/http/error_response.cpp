#include "cutout/http/error_response.hpp"

#include <algorithm>
#include <cmath>
#include <new>
#include <utility>

#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"
#include "cutout/http/reply.hpp"
#include "cutout/http/request_context.hpp"
#include "cutout/logging/logging.hpp"
#include "cutout/service/readiness.hpp"
#include "cutout/service/startup_progress.hpp"

namespace cutout::http {
namespace {

constexpr int kRetryAfterBusyS = 1;
// Bounds of the start-up estimate as a Retry-After: a client always waits a little, and never
// longer than a probe period even when the estimate is large (a CPU load of a big model).
constexpr int kRetryAfterLoadingMinS = 1;
constexpr int kRetryAfterLoadingMaxS = 30;
constexpr const char* kInternalMessage = "internal error while processing the request";

ErrorReply internal(const std::string& type, const std::string& detail) {
  // The detail goes to the log, once, not to the client: in Error Reporting's shape, with the
  // request's trace and ID (request_context.hpp), so the line joins its request.
  nlohmann::json fields = reported_error_fields(__FILE__, __LINE__, "cutout::http::StatusPolicy::reply_for");
  fields["type"] = type;
  fields["detail"] = detail;
  log_event(spdlog::level::err, "internal error (" + type + "): " + detail, fields);
  return ErrorReply{500, type, kInternalMessage, std::nullopt};
}

}  // namespace

int StatusPolicy::retry_after_while_loading_s() const {
  const service::Phase phase = readiness_.phase();
  if (phase == service::Phase::Ready || phase == service::Phase::Failed) return kRetryAfterLoadingMinS;
  const double remaining_ms = service::current_progress(readiness_, phase).estimated_remaining_ms;
  const int seconds = static_cast<int>(std::ceil(remaining_ms / 1000.0));
  return std::clamp(seconds, kRetryAfterLoadingMinS, kRetryAfterLoadingMaxS);
}

ErrorReply StatusPolicy::model_failed() const {
  // Only the short code: the full reason (model path, LibTorch's message) went to the log.
  return ErrorReply{503, "model_failed",
                    "the model failed to load (" + readiness_.public_failure_reason() +
                        "); the reason is in this instance's log",
                    std::nullopt};
}

ErrorReply StatusPolicy::reply_for(const Error& e) const {
  ErrorReply r{500, e.type(), e.what(), std::nullopt};
  switch (e.kind()) {
    case ErrorKind::InvalidArgument: r.status = 400; break;
    case ErrorKind::PayloadTooLarge: r.status = 413; break;
    case ErrorKind::UnsupportedMediaType: r.status = 415; break;
    case ErrorKind::NotAcceptable: r.status = 406; break;
    case ErrorKind::NotReady:
      r.status = 503;
      r.retry_after_s = retry_after_while_loading_s();
      break;
    case ErrorKind::ModelFailed: r.status = 503; break;
    case ErrorKind::Overloaded:
      r.status = 503;
      r.retry_after_s = kRetryAfterBusyS;
      break;
    case ErrorKind::ShuttingDown:
      r.status = 503;
      r.retry_after_s = kRetryAfterBusyS;
      break;
    case ErrorKind::ClientGone: r.status = kStatusClientGone; break;
    case ErrorKind::Internal:
      return internal(e.type(), e.detail().empty() ? e.what() : e.detail());
  }
  return r;
}

ErrorReply StatusPolicy::reply_for(std::exception_ptr error) const noexcept {
  try {
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      return reply_for(e);
    } catch (const std::bad_alloc&) {
      return internal("out_of_memory", "std::bad_alloc");
    } catch (const std::exception& e) {  // c10::Error and cv::Exception too, should one get here
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
    case 408:
      return {408, "request_timeout", "the request was not sent in time (see --header-timeout-s, --body-timeout-s)",
              std::nullopt};
    case 416: return {416, "range_not_satisfiable", "the Range header is malformed", std::nullopt};
    case 431: return {431, "too_many_headers", "the request's header section is too large", std::nullopt};
    default:
      return {status, status >= 500 ? "internal" : "http_error",
              "HTTP status " + std::to_string(status), std::nullopt};
  }
}

ErrorReply body_too_large(std::size_t limit_bytes) {
  return {413, "body_too_large",
          "the request body is over the limit of " + std::to_string(limit_bytes) + " bytes",
          std::nullopt};
}

ErrorReply unauthorized() {
  return {401, "unauthorized",
          "a valid API key is required: send X-API-Key: KEY or Authorization: Bearer KEY", std::nullopt};
}

namespace {
// For messages: client text, cut short and with control bytes shown as '?'.
std::string shown(const std::string& text) {
  std::string out = text.substr(0, 64);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.size() > 64 ? out + "..." : out;
}
}  // namespace

ErrorReply content_encoding_refused(const std::string& encoding) {
  return {415, "unsupported_content_encoding",
          "request bodies are not decoded: send them without Content-Encoding (got '" + shown(encoding) + "')",
          std::nullopt};
}

ErrorReply body_not_allowed(const std::string& path) {
  return {413, "body_not_allowed", "'" + shown(path) + "' takes no request body", std::nullopt};
}

ErrorReply too_many_headers(std::size_t limit) {
  return {431, "too_many_headers", "more than " + std::to_string(limit) + " header lines", std::nullopt};
}

nlohmann::json error_object(const ErrorReply& reply) {
  return {{"error", {{"code", reply.status}, {"type", reply.type}, {"message", reply.message}}}};
}

std::string error_json(const ErrorReply& reply) {
  return error_object(reply).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_error(httplib::Response& response, const ErrorReply& reply) {
  write_reply(Reply::error(reply), response);
}

void send_error_and_close(httplib::Response& response, const ErrorReply& reply) {
  Reply closing = Reply::error(reply);
  closing.close_connection = true;
  write_reply(std::move(closing), response);
}

}  // namespace cutout::http
