#include "cutout/http/routes.hpp"

#include <chrono>
#include <cstdio>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"
#include "cutout/core/process_clock.hpp"
#include "cutout/http/connections.hpp"
#include "cutout/http/content_negotiation.hpp"
#include "cutout/http/error_response.hpp"
#include "cutout/http/reply.hpp"
#include "cutout/http/upload.hpp"
#include "cutout/http/result_headers.hpp"
#include "cutout/http/web_page.hpp"
#include "cutout/service/startup_progress.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;
using service::Phase;

constexpr long kDefaultWarmupTimeoutMs = 60'000;
constexpr long kMaxWarmupTimeoutMs = 600'000;

// {"status":"loading"} with the phase, the times and the estimate (service::to_json(progress)).
json loading_json(const service::Readiness& readiness, Phase phase) {
  json body = to_json(service::current_progress(readiness, phase));
  body["status"] = "loading";
  return body;
}

// {"status": "passed", "max_difference": ..., "tolerance": ..., "ms": ...} or
// {"status": "skipped", "why": ...}: what the warm-up proved about the model's answer.
json self_test_json(const service::SelfTestReport& t) {
  if (t.status != "passed") return json{{"status", t.status}, {"why", t.why}};
  return json{{"status", t.status}, {"max_difference", t.max_difference}, {"tolerance", t.tolerance},
              {"ms", t.ms}};
}

Reply handle_health(const AppContext& ctx, const StatusPolicy& policy) {
  const Phase phase = ctx.readiness.phase();
  if (phase == Phase::Ready) {
    const service::ModelInfo info = ctx.loader.info();
    return Reply::json(
        200, json{{"status", "ready"},
                  {"device", info.device},
                  {"precision", info.precision},
                  {"model",
                   {{"name", info.name},
                    {"mode", info.mode},
                    {"input_size", {info.input_width, info.input_height}},
                    {"metadata", info.metadata_embedded ? "embedded" : "defaults"}}},
                  {"self_test", self_test_json(info.self_test)},
                  {"uptime_s", ms_since_process_start(std::chrono::steady_clock::now()) / 1000.0}});
  }
  if (phase == Phase::Failed) {
    return Reply::error(policy.model_failed(),
                        json{{"status", "failed"}, {"reason", ctx.readiness.public_failure_reason()}});
  }
  Reply reply = Reply::json(503, loading_json(ctx.readiness, phase));
  reply.headers.emplace_back("Retry-After", std::to_string(policy.retry_after_while_loading_s()));
  return reply;
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

Reply handle_warmup(const AppContext& ctx, const StatusPolicy& policy, const httplib::Request& req) {
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
    body["self_test"] = self_test_json(ctx.loader.info().self_test);
    return Reply::json(200, body);
  }
  if (phase == Phase::Failed) {
    return Reply::error(policy.model_failed(),
                        json{{"status", "failed"}, {"reason", ctx.readiness.public_failure_reason()}});
  }
  ErrorReply timed_out{503, "warmup_timeout", "still starting after " + std::to_string(timeout) + " ms",
                       policy.retry_after_while_loading_s()};
  return Reply::error(timed_out, loading_json(ctx.readiness, phase));
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

// The format from Accept when format= was not sent; 406 not_acceptable when none of ours fits.
imaging::OutputFormat format_for_accept(const httplib::Request& req,
                                        const service::RemoveBackgroundOptions& options) {
  const bool jpeg_possible = !service::has_alpha(options);
  if (auto format = negotiate_format(req.get_header_value("Accept"), jpeg_possible)) return *format;
  throw Error(ErrorKind::NotAcceptable, "not_acceptable",
              std::string("Accept admits none of image/png, image/webp") +
                  (jpeg_possible ? ", image/jpeg" : " (image/jpeg cannot carry the transparent result)") +
                  "; or send format=png|webp|jpeg");
}

Reply handle_remove_background(const AppContext& ctx, const StatusPolicy& policy,
                               const httplib::Request& req, const httplib::ContentReader& reader,
                               std::size_t max_body) {
  // Reading the body (limits, Content-Type, multipart framing) ends in an error reply of its own,
  // closing the connection when the body was not read to its end.
  const UploadResult read = read_upload(req, reader, max_body);
  if (read.error) {
    // A body cut by its deadline or the stop is answered as such (connections.hpp).
    Reply reply = Reply::error(read_cut_reply(policy).value_or(*read.error));
    reply.close_connection = read.close;
    return reply;
  }
  service::Parameters parameters(req.params.begin(), req.params.end());
  const std::string_view image = image_from(read.upload, parameters);
  service::RemoveBackgroundOptions options = service::parse_remove_background_options(parameters);
  if (!options.format_given) options.format = format_for_accept(req, options);
  options.client_gone = client_gone_probe();
  service::RemoveBackgroundResult result = ctx.remover.remove(image, options);
  Reply reply;
  reply.headers.emplace_back("Vary", "Accept");
  reply.headers.emplace_back("Server-Timing", server_timing(result.timings));
  add_result_headers(result, reply);
  reply.body = std::move(result.body);
  reply.content_type = result.content_type;
  return reply;
}

// Runs a handler and writes its reply; an exception becomes the status policy's error reply, so
// no handler needs a try block and none lets an exception escape.
template <typename Handler>
void serve(httplib::Response& res, const StatusPolicy& policy, Handler&& handler) {
  Reply reply;
  try {
    reply = handler();
  } catch (...) {
    reply = Reply::error(policy.reply_for(std::current_exception()));
  }
  write_reply(std::move(reply), res);
}

}  // namespace

void register_routes(httplib::Server& server, const AppContext& context,
                     std::shared_ptr<const StatusPolicy> policy, std::size_t max_body_bytes) {
  const AppContext* ctx = &context;  // the server never outlives its context
  server.Get("/health/live", [policy](const httplib::Request&, httplib::Response& res) {
    serve(res, *policy, [] { return Reply::json(200, json{{"status", "alive"}}); });
  });
  server.Get("/health", [ctx, policy](const httplib::Request&, httplib::Response& res) {
    serve(res, *policy, [&] { return handle_health(*ctx, *policy); });
  });
  const auto warmup = [ctx, policy](const httplib::Request& req, httplib::Response& res) {
    serve(res, *policy, [&] { return handle_warmup(*ctx, *policy, req); });
  };
  server.Get("/warmup", warmup);
  server.Post("/warmup", warmup);
  server.Post("/remove-background",
              [ctx, policy, max_body_bytes](const httplib::Request& req, httplib::Response& res,
                                            const httplib::ContentReader& reader) {
                serve(res, *policy,
                      [&] { return handle_remove_background(*ctx, *policy, req, reader, max_body_bytes); });
              });
  register_web_page(server);  // the demo page at "/"
}

}  // namespace cutout::http
