#include "cutout/app/app.hpp"

#include <chrono>
#include <utility>

#include <httplib.h>

#include "cutout/engine/inference_gate.hpp"
#include "cutout/http/server.hpp"
#include "cutout/imaging/decode.hpp"
#include "cutout/imaging/encode.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/remove_background.hpp"

namespace cutout::app {

// Declared in the order they are built: each part is made from the settings and the parts above
// it, and destroyed in reverse (the server stops before what it serves goes away).
struct App::Parts {
  config::Settings settings;
  service::Readiness readiness;
  service::ModelLoader loader;
  engine::InferenceGate gate;
  service::BackgroundRemover remover;
  http::HttpServer server;
  int port = -1;

  Parts(config::Settings s, std::unique_ptr<httplib::Server> library_server)
      : settings(std::move(s)),
        loader(readiness, service::LoadPlan{settings.model_path, settings.device, settings.precision,
                                            settings.input_size, settings.warmup_runs}),
        gate(static_cast<std::size_t>(settings.queue_depth)),
        remover(readiness, loader, gate, imaging::DecodeLimits{settings.max_pixels},
                imaging::EncodeOptions{}),
        server(http::AppContext{readiness, loader, remover},
               http::HttpOptions{settings.host, settings.port, settings.http_threads,
                                 settings.max_body_bytes, settings.cors_origins,
                                 std::chrono::seconds(settings.read_timeout_s),
                                 std::chrono::seconds(settings.write_timeout_s),
                                 settings.cors_allow_headers, settings.api_key,
                                 settings.trace_project, settings.trusted_proxy_hops,
                                 settings.metrics_public},
               std::move(library_server)) {}
};

App::App(config::Settings settings) : App(std::move(settings), std::make_unique<httplib::Server>()) {}

App::App(config::Settings settings, std::unique_ptr<httplib::Server> server)
    : parts_(std::make_unique<Parts>(std::move(settings), std::move(server))) {}

App::~App() {
  parts_->server.stop();
  parts_->loader.join();
}

int App::listen() {
  parts_->port = parts_->server.bind();
  parts_->server.start();
  parts_->readiness.mark(service::Milestone::PortOpen);
  return parts_->port;
}

void App::start_loading() { parts_->loader.start(); }
void App::load_now() { parts_->loader.load(); }
void App::stop_serving() { parts_->server.stop(); }

service::Readiness& App::readiness() { return parts_->readiness; }
const config::Settings& App::settings() const { return parts_->settings; }
int App::port() const { return parts_->port; }

}  // namespace cutout::app
