#include "cutout/app/app.hpp"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include <httplib.h>

#include "cutout/engine/device_memory.hpp"
#include "cutout/engine/inference_gate.hpp"
#include "cutout/http/connections.hpp"
#include "cutout/http/metrics.hpp"
#include "cutout/http/server.hpp"
#include "cutout/logging/logging.hpp"
#include "cutout/imaging/decode.hpp"
#include "cutout/imaging/encode.hpp"
#include "cutout/service/memory_budget.hpp"
#include "cutout/service/memory_limit.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/remove_background.hpp"
#include "cpu_threads.hpp"

namespace cutout::app {
namespace {

// The model's CUDA device's memory for /metrics; nullopt on the CPU (or before the model is
// ready), and on an engine built without CUDA, so the series are left out rather than reported 0.
std::optional<http::GpuMemory> gpu_memory(const service::ModelLoader& loader) {
  const std::string device = loader.info().device;  // "cuda:0", "cpu", "" before ready
  if (device.rfind("cuda", 0) != 0) return std::nullopt;
  const auto colon = device.find(':');
  const int index = colon == std::string::npos ? 0 : std::atoi(device.c_str() + colon + 1);
  const auto memory = engine::cuda_memory(index);
  if (!memory) return std::nullopt;
  return http::GpuMemory{memory->allocated_bytes, memory->reserved_bytes};
}

// The memory budget's size, asked at the first request (the model is loaded and warmed up by
// then): --memory-budget-bytes, else the container's limit (or the machine's memory) less what
// the process has held at its peak so far, x 0.9. Logged once, with where it came from.
std::uint64_t memory_budget_bytes(std::size_t configured) {
  if (configured != 0) {
    log_event(spdlog::level::info, "memory budget", {{"bytes", configured}, {"source", "--memory-budget-bytes"}});
    return configured;
  }
  const auto cgroup = service::cgroup_memory_limit();
  const std::uint64_t limit = cgroup ? *cgroup : service::physical_memory_bytes();
  const std::uint64_t held = service::process_peak_resident_bytes();
  const std::uint64_t budget = service::budget_from_limit(limit, held);
  log_event(budget == 0 ? spdlog::level::warn : spdlog::level::info, "memory budget",
            {{"bytes", budget}, {"source", cgroup ? "cgroup memory limit" : "physical memory"},
             {"limit_bytes", limit}, {"held_bytes", held}});
  return budget;
}

// The library server main() serves on: one thread per connection, total read deadlines.
std::unique_ptr<httplib::Server> connection_server(const config::Settings& s) {
  return std::make_unique<http::ConnectionServer>(http::ConnectionOptions{
      s.http_threads, s.max_connections, std::chrono::seconds(s.idle_timeout_s),
      std::chrono::seconds(s.header_timeout_s), std::chrono::seconds(s.body_timeout_s)});
}

}  // namespace

// Declared in the order they are built: each part is made from the settings and the parts above
// it, and destroyed in reverse (the server stops before what it serves goes away).
struct App::Parts {
  config::Settings settings;
  int cpu_threads;  // the pool's and LibTorch's, set before anything runs
  service::Readiness readiness;
  service::ModelLoader loader;
  engine::InferenceGate gate;
  service::MemoryBudget memory_budget;
  service::BackgroundRemover remover;
  http::Metrics metrics;
  http::HttpServer server;
  std::unique_ptr<http::MetricsServer> metrics_server;  // --metrics-port
  int port = -1;
  int metrics_port = -1;

  Parts(config::Settings s, std::unique_ptr<httplib::Server> library_server)
      : settings(std::move(s)),
        cpu_threads(configure_cpu_threads(settings.cpu_threads)),
        loader(readiness, service::LoadPlan{settings.model_path, settings.device, settings.precision,
                                            settings.input_size, settings.warmup_runs}),
        gate(static_cast<std::size_t>(settings.queue_depth),
             std::chrono::milliseconds(settings.max_queue_wait_ms)),
        memory_budget([configured = settings.memory_budget_bytes] { return memory_budget_bytes(configured); }),
        remover(readiness, loader, gate, imaging::DecodeLimits{settings.max_pixels, std::chrono::milliseconds(settings.decode_timeout_ms)},
                imaging::EncodeOptions{}, &memory_budget),
        metrics(readiness, loader,
                http::MetricsSources{[this] { return http::QueueStats{gate.inside(), gate.capacity(), gate.rejected(),
                                                                      gate.timed_out(), remover.forward_passes()}; },
                                     [this] { return gpu_memory(loader); },
                                     [this] { return memory_budget.stats(); }}),
        server(http::AppContext{readiness, loader, remover, &metrics},
               http::HttpOptions{settings.host, settings.port, settings.http_threads,
                                 settings.max_body_bytes, settings.cors_origins,
                                 std::chrono::seconds(settings.read_timeout_s),
                                 std::chrono::seconds(settings.write_timeout_s),
                                 settings.cors_allow_headers, settings.api_key,
                                 settings.trace_project, settings.trusted_proxy_hops,
                                 settings.metrics_public},
               std::move(library_server)) {}
};

App::App(config::Settings settings) : App(settings, connection_server(settings)) {}

App::App(config::Settings settings, std::unique_ptr<httplib::Server> server)
    : parts_(std::make_unique<Parts>(std::move(settings), std::move(server))) {}

App::~App() {
  parts_->server.stop();
  if (parts_->metrics_server) parts_->metrics_server->stop();
  parts_->loader.join();
}

int App::listen() {
  parts_->port = parts_->server.bind();
  parts_->server.start();
  parts_->readiness.mark(service::Milestone::PortOpen);
  const config::Settings& s = parts_->settings;
  if (s.metrics_port != 0) {
    parts_->metrics_server = std::make_unique<http::MetricsServer>(parts_->metrics);
    parts_->metrics_port = parts_->metrics_server->start(s.metrics_host, s.metrics_port);
    log_event(spdlog::level::info, "metrics listening",
              {{"host", s.metrics_host}, {"port", parts_->metrics_port}, {"path", "/metrics"}});
  }
  return parts_->port;
}

void App::start_loading() { parts_->loader.start(); }
void App::load_now() { parts_->loader.load(); }
void App::stop_serving() {
  parts_->server.stop();
  if (parts_->metrics_server) parts_->metrics_server->stop();
}

service::Readiness& App::readiness() { return parts_->readiness; }
const config::Settings& App::settings() const { return parts_->settings; }
int App::port() const { return parts_->port; }
int App::metrics_port() const { return parts_->metrics_port; }

}  // namespace cutout::app
