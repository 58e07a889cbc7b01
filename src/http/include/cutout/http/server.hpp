#pragma once
// The HTTP server: binds first (so the port is open before the model loads), serves on a pool of
// worker threads, and stops gracefully: no new connections, in-flight requests finish.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cutout/service/model_loader.hpp"
#include "cutout/service/readiness.hpp"
#include "cutout/service/remove_background.hpp"

namespace httplib {
class Server;
}

namespace cutout::http {

class Metrics;

// No defaults here: app::App fills these from config::Settings.
struct HttpOptions {
  std::string host;
  int port;  // 0: any free port
  int threads;
  std::size_t max_body_bytes;
  std::vector<std::string> cors_origins;
  std::chrono::seconds read_timeout;   // a client that stops sending is dropped
  std::chrono::seconds write_timeout;  // a client that stops reading is dropped
  std::vector<std::string> cors_allow_headers;  // what a preflight allows a page to send
  std::string api_key;                          // empty: none asked (see api_key.hpp)
  std::string trace_project;                    // for log lines' trace field (request_context.hpp)
  int trusted_proxy_hops;                       // X-Forwarded-For entries to trust; 0: none
  bool metrics_public;                          // /metrics on this server too (metrics.hpp)
};

// What the routes need from the service layer.
struct AppContext {
  const service::Readiness& readiness;
  const service::ModelLoader& loader;
  const service::BackgroundRemover& remover;
  Metrics* metrics = nullptr;  // counts every answer when set (metrics.hpp)
};

// Everything HttpServer sets on the library's server apart from sockets: limits, timeouts, CORS,
// the early 413, JSON error bodies, the access log and the routes. `context` must outlive `server`.
void configure_server(httplib::Server& server, const AppContext& context, const HttpOptions& options);

class HttpServer {
 public:
  // `server`: the library server to configure and serve on; the request fuzzer passes a subclass
  // that can feed it requests from memory. Null: a plain httplib::Server.
  HttpServer(AppContext context, HttpOptions options, std::unique_ptr<httplib::Server> server = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Opens the listening socket; returns the port (useful with port 0). Throws std::runtime_error.
  int bind();
  // Accepts connections on a background thread. Call after bind().
  void start();
  // Stops accepting and waits for the worker threads, which finish their requests first.
  void stop();
  int port() const { return port_; }

 private:
  AppContext context_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
  std::thread accept_thread_;
};

}  // namespace cutout::http
