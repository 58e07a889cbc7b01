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
#include "cutout/http/error_response.hpp"
#include "cutout/http/reply.hpp"
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
  if (phase == Phase::Failed) return Reply::error(policy.model_failed(), json{{"status", "failed"}});
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
  if (phase == Phase::Failed) return Reply::error(policy.model_failed(), json{{"status", "failed"}});
  ErrorReply timed_out{503, "warmup_timeout", "still starting after " + std::to_string(timeout) + " ms",
                       policy.retry_after_while_loading_s()};
  return Reply::error(timed_out, loading_json(ctx.readiness, phase));
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

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

// The request body as read through httplib's content reader, so that the limit holds for bodies
// of unannounced length too (chunked): reading stops at the limit instead of after the whole body.
// (Announced lengths over the limit were refused by the server's pre-routing hook, unread.)
struct Upload {
  std::string body;                                // a raw upload
  std::vector<httplib::MultipartFormData> parts;  // or the multipart parts
  bool over_limit = false;
  bool read_ok = false;
};

Upload read_upload(const httplib::Request& req, const httplib::ContentReader& reader,
                   std::size_t max_body) {
  Upload upload;
  std::size_t total = 0;
  const auto admit = [&](std::size_t n) {
    total += n;
    upload.over_limit = total > max_body;
    return !upload.over_limit;
  };
  if (req.is_multipart_form_data()) {
    upload.read_ok = reader(
        [&](const httplib::MultipartFormData& header) {
          upload.parts.push_back(header);
          return true;
        },
        [&](const char* data, std::size_t n) {
          if (!admit(n) || upload.parts.empty()) return false;
          upload.parts.back().content.append(data, n);
          return true;
        });
  } else {
    upload.read_ok = reader([&](const char* data, std::size_t n) {
      if (!admit(n)) return false;
      upload.body.append(data, n);
      return true;
    });
  }
  return upload;
}

// The image bytes and the parameters of an upload that was read completely.
std::string_view image_and_parameters(const httplib::Request& req, const Upload& upload,
                                      service::Parameters& parameters) {
  if (req.is_multipart_form_data()) {
    const httplib::MultipartFormData* part = nullptr;
    for (const auto& field : upload.parts) {
      if (field.name == "image" || field.name == "file") {
        if (part == nullptr) part = &field;
      } else if (field.filename.empty()) {
        parameters.emplace_back(field.name, field.content);
      } else {
        throw Error(ErrorKind::InvalidArgument, "unknown_parameter",
                    "unexpected file part '" + field.name + "' (send the image as part 'image')");
      }
    }
    if (part == nullptr || part->content.empty()) {
      throw Error(ErrorKind::InvalidArgument, "missing_image",
                  "multipart body has no non-empty part named 'image' (or 'file')");
    }
    return part->content;
  }
  const std::string type = req.get_header_value("Content-Type");
  if (!starts_with(type, "image/") && !starts_with(type, "application/octet-stream")) {
    throw Error(ErrorKind::UnsupportedMediaType, "unsupported_media_type",
                "send the image as multipart/form-data part 'image', or as the raw body with "
                "Content-Type image/* or application/octet-stream (got '" + type + "')");
  }
  if (upload.body.empty()) {
    throw Error(ErrorKind::InvalidArgument, "missing_image", "the request body is empty");
  }
  return upload.body;
}

Reply handle_remove_background(const AppContext& ctx, const httplib::Request& req,
                               const httplib::ContentReader& reader, std::size_t max_body) {
  const Upload upload = read_upload(req, reader, max_body);
  if (upload.over_limit) {
    Reply reply = Reply::error(body_too_large(max_body));
    reply.close_connection = true;
    return reply;
  }
  if (!upload.read_ok) {
    // Unparsable multipart, or a client that stopped sending: what is left of the body is
    // unknown, so the connection goes too.
    Reply reply = Reply::error(
        ErrorReply{400, "bad_request", "the request body could not be read or parsed", std::nullopt});
    reply.close_connection = true;
    return reply;
  }
  service::Parameters parameters(req.params.begin(), req.params.end());
  const std::string_view image = image_and_parameters(req, upload, parameters);
  const service::RemoveBackgroundOptions options = service::parse_remove_background_options(parameters);
  service::RemoveBackgroundResult result = ctx.remover.remove(image, options);
  Reply reply;
  reply.headers.emplace_back("Server-Timing", server_timing(result.timings));
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
                      [&] { return handle_remove_background(*ctx, req, reader, max_body_bytes); });
              });
  register_web_page(server);  // the demo page at "/"
}

}  // namespace cutout::http
