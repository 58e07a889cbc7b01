#include "cutout/http/routes.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"
#include "cutout/core/process_clock.hpp"
#include "cutout/http/error_response.hpp"
#include "cutout/http/upload.hpp"
#include "cutout/http/web_page.hpp"
#include "cutout/service/startup_progress.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;
using service::Phase;

constexpr long kDefaultWarmupTimeoutMs = 60'000;
constexpr long kMaxWarmupTimeoutMs = 600'000;
constexpr int kRetryAfterLoadingS = 2;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// Handlers never let an exception escape: this wrapper is where they all become error replies.
httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> f) {
  return [f = std::move(f)](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (...) {
      send_error(res, describe_exception(std::current_exception()));
    }
  };
}

// {"status":"loading"} with the phase, the times and the estimate (service::to_json(progress)).
json loading_json(const service::Readiness& readiness, Phase phase) {
  json body = to_json(service::current_progress(readiness, phase));
  body["status"] = "loading";
  return body;
}

void handle_health(const AppContext& ctx, httplib::Response& res) {
  const Phase phase = ctx.readiness.phase();
  if (phase == Phase::Ready) {
    const service::ModelInfo info = ctx.loader.info();
    send_json(res, 200,
              json{{"status", "ready"},
                   {"device", info.device},
                   {"precision", info.precision},
                   {"model",
                    {{"name", info.name},
                     {"mode", info.mode},
                     {"input_size", {info.input_width, info.input_height}},
                     {"metadata", info.metadata_embedded ? "embedded" : "defaults"}}},
                   {"uptime_s", ms_since_process_start(std::chrono::steady_clock::now()) / 1000.0}});
    return;
  }
  if (phase == Phase::Failed) {
    send_json(res, 503, json{{"status", "failed"}, {"error", ctx.readiness.failure_reason()}});
    return;
  }
  res.set_header("Retry-After", std::to_string(kRetryAfterLoadingS));
  send_json(res, 503, loading_json(ctx.readiness, phase));
}

long warmup_timeout_ms(const httplib::Request& req) {
  if (!req.has_param("timeout_ms")) return kDefaultWarmupTimeoutMs;
  const std::string text = req.get_param_value("timeout_ms");
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 0 || value > kMaxWarmupTimeoutMs) {
    throw Error(ErrorKind::InvalidArgument, "invalid_parameter",
                "timeout_ms must be an integer in 0.." + std::to_string(kMaxWarmupTimeoutMs));
  }
  return value;
}

void handle_warmup(const AppContext& ctx, const httplib::Request& req, httplib::Response& res) {
  for (const auto& [name, value] : req.params) {
    if (name != "timeout_ms") {
      throw Error(ErrorKind::InvalidArgument, "unknown_parameter",
                  "unknown parameter '" + name + "' (known: timeout_ms)");
    }
  }
  const long timeout = warmup_timeout_ms(req);
  const bool already_warm = ctx.readiness.ready();
  // Sleeps on the readiness condition variable: woken by the state change, no polling.
  const Phase phase = already_warm ? Phase::Ready
                                   : ctx.readiness.wait_until_settled(std::chrono::milliseconds(timeout));
  if (phase == Phase::Ready) {
    json body = to_json(ctx.readiness.timeline());
    body.update(to_json(service::current_progress(ctx.readiness, Phase::Ready)));  // phase "ready", 4 of 4
    body["status"] = "ready";
    body["already_warm"] = already_warm;
    send_json(res, 200, body);
    return;
  }
  if (phase == Phase::Failed) {
    json body = error_object({500, "model_failed",
                              "the model failed to load: " + ctx.readiness.failure_reason(),
                              std::nullopt});
    body["status"] = "failed";
    send_json(res, 500, body);
    return;
  }
  json body = error_object(
      {503, "warmup_timeout", "still starting after " + std::to_string(timeout) + " ms", std::nullopt});
  body.update(loading_json(ctx.readiness, phase));
  res.set_header("Retry-After", std::to_string(kRetryAfterLoadingS));
  send_json(res, 503, body);
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", ms);
  return buf;
}

std::string server_timing(const service::StageTimings& t) {
  return "decode;dur=" + format_ms(t.decode_ms) + ", preprocess;dur=" + format_ms(t.preprocess_ms) +
         ", inference;dur=" + format_ms(t.queue_ms + t.inference_ms) +
         ";desc=\"includes queue\", queue;dur=" + format_ms(t.queue_ms) +
         ", postprocess;dur=" + format_ms(t.postprocess_ms) + ", encode;dur=" + format_ms(t.encode_ms);
}

void handle_remove_background(const AppContext& ctx, const httplib::Request& req,
                              const Upload& upload, httplib::Response& res) {
  service::Parameters parameters(req.params.begin(), req.params.end());
  const std::string_view image = image_from(upload, parameters);
  const service::RemoveBackgroundOptions options = service::parse_remove_background_options(parameters);
  service::RemoveBackgroundResult result = ctx.remover.remove(image, options);
  res.status = 200;
  res.set_header("Server-Timing", server_timing(result.timings));
  res.set_content(std::move(result.body), result.content_type);
}

}  // namespace

void register_routes(httplib::Server& server, const AppContext& context, std::size_t max_body_bytes) {
  const AppContext* ctx = &context;  // the server never outlives its context
  server.Get("/health/live", guarded([](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, json{{"status", "alive"}});
  }));
  server.Get("/health", guarded([ctx](const httplib::Request&, httplib::Response& res) {
    handle_health(*ctx, res);
  }));
  const auto warmup = guarded([ctx](const httplib::Request& req, httplib::Response& res) {
    handle_warmup(*ctx, req, res);
  });
  server.Get("/warmup", warmup);
  server.Post("/warmup", warmup);
  server.Post("/remove-background",
              [ctx, max_body_bytes](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
                try {
                  // Reading the body (limits, Content-Type, multipart framing) answers on its
                  // own, closing the connection when the body was not read to its end.
                  const UploadResult read = read_upload(req, reader, max_body_bytes);
                  if (read.error) {
                    if (read.close) {
                      send_error_and_close(res, *read.error);
                    } else {
                      send_error(res, *read.error);
                    }
                    return;
                  }
                  handle_remove_background(*ctx, req, read.upload, res);
                } catch (...) {
                  send_error(res, describe_exception(std::current_exception()));
                }
              });
  register_web_page(server);  // the demo page at "/"
}

}  // namespace cutout::http
