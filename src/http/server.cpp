#include "cutout/http/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/logging/logging.hpp"
#include "cutout/core/error.hpp"
#include "cutout/http/api_key.hpp"
#include "cutout/http/connections.hpp"
#include "cutout/http/cors.hpp"
#include "cutout/http/error_response.hpp"
#include "cutout/http/reply.hpp"
#include "cutout/http/metrics.hpp"
#include "cutout/http/request_context.hpp"
#include "cutout/http/request_screen.hpp"
#include "cutout/http/routes.hpp"

namespace cutout::http {
namespace {

// Each request is handled start to finish on one worker thread, so the pre-routing hook can leave
// the start time here for the access log. Unset for a request the library answered before routing
// (400 for a bad request line or header, 414, 416): no hook marks its start, so it has no latency.
thread_local std::optional<std::chrono::steady_clock::time_point> t_request_started;

// Seconds since the pre-routing hook saw this request, or nullopt when it never did.
std::optional<double> seconds_since_start() {
  if (!t_request_started) return std::nullopt;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - *t_request_started).count();
}

bool is_probe(const std::string& path) { return path == "/health" || path == "/health/live"; }

void log_access(const httplib::Request& req, const httplib::Response& res) {
  // Every error answer was made by send_error (ours, or the error handler's for the library's own
  // statuses) on this thread; the type is taken, so the next request on this thread starts clean.
  std::string error_type = error_type_on_this_thread();
  clear_error_type_on_this_thread();
  if (error_type.empty() && res.status >= 400) error_type = reply_for_status(res.status).type;
  if (is_probe(req.path)) return;
  const auto level = res.status >= 500 ? spdlog::level::warn : spdlog::level::info;
  // What the library parsed; for a request it refused unparsed (a 414's line is dropped), what the
  // connection saw arrive (connections.hpp); "-" where neither has anything.
  std::string method = req.method, url = !req.target.empty() ? req.target : req.path;
  std::optional<double> seconds = seconds_since_start();
  // Only a refused request needs it: an ordinary one has its method, target and start already.
  const auto arrival = method.empty() || url.empty() || !seconds ? connection_request_arrival()
                                                                 : std::nullopt;
  if (method.empty() && arrival) method = arrival->method;
  if (url.empty() && arrival) url = arrival->target_prefix + (arrival->target_cut ? "..." : "");
  if (method.empty()) method = "-";
  if (url.empty()) url = "-";
  nlohmann::json http_request = {
      {"requestMethod", method},
      {"requestUrl", url},  // with the query
      {"status", res.status},
      {"requestSize", req.has_header("Content-Length") ? req.get_header_value("Content-Length") : "0"},
      {"responseSize", std::to_string(res.body.size())},
      {"userAgent", req.get_header_value("User-Agent")},
      {"remoteIp", current_request() ? current_request()->client_address : req.remote_addr}};
  nlohmann::json fields = nlohmann::json::object();
  if (!seconds) {
    fields["refused_before_routing"] = true;  // by the HTTP library; no hook saw it start
    if (arrival) {  // from the request's first byte, as the connection saw it
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - arrival->started).count();
    }
  }
  if (seconds) {
    char latency[32];
    std::snprintf(latency, sizeof(latency), "%.6fs", *seconds);
    http_request["latency"] = latency;
    fields["duration_ms"] = *seconds * 1000.0;
  }
  fields["httpRequest"] = std::move(http_request);
  if (res.has_header("Server-Timing")) fields["server_timing"] = res.get_header_value("Server-Timing");
  if (res.status >= 400) fields["error_type"] = error_type;
  // The path as sent (still percent-encoded, so no spaces or control bytes), without the query.
  log_event(level, method + " " + url.substr(0, url.find('?')) + " " + std::to_string(res.status), fields);
}

// cpp-httplib 0.11 listens with a backlog of 5, compiled into the shared library. A burst of new
// connections while the accept thread is not scheduled overflows it and clients see resets (the
// soak's overload phase lost 4 of 600 that way). listen() on a listening socket sets a new backlog;
// the library does not expose its socket, so find it: the one listening socket bound to our port.
void widen_listen_backlog(int port) {
  for (int fd = 0; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t size = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t addr_size = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_size) != 0) continue;
    int bound = -1;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) {
      ::listen(fd, SOMAXCONN);
      return;
    }
  }
}

// The one reading of Content-Length: a refusal (400 for anything but a decimal byte count, 413
// over the limit) or nothing when the announced length may be read.
std::optional<ErrorReply> refuse_announced_length(const httplib::Request& req, std::size_t max_body) {
  const std::string length = req.get_header_value("Content-Length");
  if (length.empty()) return std::nullopt;
  if (length.find_first_not_of("0123456789") != std::string::npos || length.size() > 19) {
    return ErrorReply{400, "bad_request", "Content-Length must be a decimal byte count", std::nullopt};
  }
  if (std::strtoull(length.c_str(), nullptr, 10) > max_body) return body_too_large(max_body);
  return std::nullopt;
}

// A screening refusal (request_screen.hpp): the body is never read, so the connection closes.
void send_screen_refusal(httplib::Response& res, const ErrorReply& refusal) {
  send_error_and_close(res, refusal);
  if (refusal.status == 415) res.set_header("Accept-Encoding", "identity");  // RFC 9110 12.5.3
}

}  // namespace

void configure_server(httplib::Server& svr, const AppContext& context, const HttpOptions& options) {
  const int threads = options.threads;
  // A ConnectionServer brings its own threads (one per connection); a plain server gets a pool.
  if (dynamic_cast<ConnectionServer*>(&svr) == nullptr) {
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  }
  svr.set_payload_max_length(options.max_body_bytes);
  svr.set_read_timeout(options.read_timeout);
  svr.set_write_timeout(options.write_timeout);
  svr.set_keep_alive_timeout(5);

  auto policy = std::make_shared<const StatusPolicy>(context.readiness);
  auto cors = std::make_shared<CorsPolicy>(options.cors_origins, options.cors_allow_headers);
  auto api_key = std::make_shared<const ApiKeyCheck>(options.api_key);
  auto tracing = std::make_shared<const RequestTracing>(options.trace_project, options.trusted_proxy_hops);
  const std::size_t max_body = options.max_body_bytes;
  svr.set_pre_routing_handler([cors, api_key, tracing, max_body, policy](const httplib::Request& req,
                                                                         httplib::Response& res) {
    t_request_started = std::chrono::steady_clock::now();
    clear_error_type_on_this_thread();
    connection_headers_read();  // the body's own deadline starts (connections.hpp)
    tracing->begin(req, res);  // trace, request ID, client address: on every log line until the access line
    if (connection_stopping()) {  // arrived during a stop: told to go elsewhere, body unread
      send_error_and_close(res, policy->reply_for(Error(ErrorKind::ShuttingDown, "shutting_down",
                                                        "the server is shutting down; send the request again")));
      return httplib::Server::HandlerResponse::Handled;
    }
    ignore_range(req);
    res.set_header("Accept-Ranges", "none");
    // What the service never uses is refused before any body byte is read (request_screen.hpp).
    if (const auto refusal = screen_request(req)) {
      cors->apply(req, res);
      send_screen_refusal(res, *refusal);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (cors->answer_preflight(req, res)) return httplib::Server::HandlerResponse::Handled;
    cors->apply(req, res);  // on every answer, errors included, so the page can read them
    if (!api_key->admits(req)) {
      ApiKeyCheck::refuse(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    // Refuse an announced oversize (or unreadable) length before reading the body, and close the
    // connection so that the body is never read at all.
    if (const auto refusal = refuse_announced_length(req, max_body)) {
      send_error_and_close(res, *refusal);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // A client that asks before sending a large body (curl does above 1 MiB) is told 413 instead
  // of "100 Continue", so it never sends the body at all.
  svr.set_expect_100_continue_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    t_request_started = std::chrono::steady_clock::now();  // a refusal here never reaches the hook
    if (auto refusal = screen_request(req)) {
      send_screen_refusal(res, *refusal);
      return refusal->status;
    }
    if (const auto refusal = refuse_announced_length(req, max_body)) {
      send_error(res, *refusal);
      return refusal->status;
    }
    return 100;
  });
  // Statuses the library produces itself (404, 413 for chunked bodies, ...) get our JSON body too.
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [policy](const httplib::Request&, httplib::Response& res) {
        // A reply of ours (body, or a body writer that sets Content-Type) stays as it is.
        if (!res.body.empty() || res.has_header("Content-Type")) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        // The library's 400 for a request cut by a deadline or the stop says which.
        if (const auto cut = read_cut_reply(*policy)) {
          send_error_and_close(res, *cut);
          return httplib::Server::HandlerResponse::Handled;
        }
        send_error(res, reply_for_status(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  // Backstop: routes turn every exception into a reply themselves (see routes.cpp).
  svr.set_exception_handler([policy](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    send_error(res, policy->reply_for(ep));
  });
  Metrics* metrics = context.metrics;
  svr.set_logger([metrics](const httplib::Request& req, const httplib::Response& res) {
    if (metrics != nullptr) metrics->record(req, res, seconds_since_start().value_or(-1.0));
    log_access(req, res);
    t_request_started.reset();  // the next request on this thread starts unmarked
    RequestTracing::end();
  });
  if (metrics != nullptr && options.metrics_public) register_metrics_route(svr, *metrics);
  register_routes(svr, context, policy, max_body);
}

HttpServer::HttpServer(AppContext context, HttpOptions options, std::unique_ptr<httplib::Server> server)
    : context_(context),
      options_(std::move(options)),
      server_(server ? std::move(server) : std::make_unique<httplib::Server>()) {
  configure_server(*server_, context_, options_);
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ < 0) {
    throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  }
  widen_listen_backlog(port_);
  return port_;
}

void HttpServer::start() {
  accept_thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it so a quick stop cannot be lost.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
}

void HttpServer::stop() {
  // Idle and half-sent connections go at once, late arrivals get 503 (connections.hpp); then the
  // library stops accepting and its accept thread waits for the requests being handled.
  if (auto* connections = dynamic_cast<ConnectionServer*>(server_.get())) connections->begin_stop();
  if (server_->is_running() || accept_thread_.joinable()) server_->stop();
  if (accept_thread_.joinable()) accept_thread_.join();
}

}  // namespace cutout::http
