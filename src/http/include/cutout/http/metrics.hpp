#pragma once
// /metrics in Prometheus text exposition format (version 0.0.4). What it counts:
//   cutout_http_requests_total{route,method,status}       answers, by route (a fixed set) and status
//   cutout_http_request_duration_seconds{route}           histogram: request to answer
//   cutout_stage_duration_seconds{stage}                  histogram per Server-Timing stage of
//                                                         /remove-background (inference includes queue)
//   cutout_inference_queue_depth / _capacity              requests inside the inference gate now
//   cutout_inference_queue_rejections_total               503 queue_full answers
//   cutout_inference_queue_timeouts_total                 503 queue_timeout answers
//   cutout_memory_budget_bytes / _in_use_bytes            the memory budget and what is reserved now
//   cutout_memory_budget_rejections_total                 503 busy answers
//   cutout_readiness_phase{phase}                         1 for the current start-up phase, 0 others
//   cutout_startup_milestone_seconds{milestone}           time since process start of each milestone
//   cutout_model_info{name,mode,device,precision,input}   1, once loaded
//   process_resident_memory_bytes                         from /proc/self/statm
//   cutout_gpu_memory_allocated_bytes / _reserved_bytes   on CUDA only, when the app gives a source
// Served on its own listener (--metrics-host/--metrics-port, loopback by default) and, with
// --metrics-public, on the main port too. Torch-free: queue and GPU figures come in as functions.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cutout/service/memory_budget.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/readiness.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace cutout::http {

struct QueueStats {
  std::size_t inside = 0;
  std::size_t capacity = 0;
  std::uint64_t rejected = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t forward_passes = 0;  // run for requests (a dropped request's is not)
};

struct GpuMemory {
  std::uint64_t allocated_bytes = 0;
  std::uint64_t reserved_bytes = 0;
};

struct MetricsSources {
  std::function<QueueStats()> queue;
  std::function<std::optional<GpuMemory>()> gpu_memory;  // null or nullopt: not on a GPU
  std::function<service::BudgetStats()> memory_budget;    // null: no budget series
};

class Metrics {
 public:
  // `readiness` and `loader` must outlive the registry.
  Metrics(const service::Readiness& readiness, const service::ModelLoader& loader, MetricsSources sources);

  // One answered request (the access-log hook calls this). `seconds` < 0: not timed (the HTTP
  // library refused it before routing); it is counted but not put in the duration histogram.
  void record(const httplib::Request& request, const httplib::Response& response, double seconds);

  // The whole exposition, current values.
  std::string render() const;

  // The route label of a path: one of a fixed set, so clients cannot grow the label space.
  static std::string route_of(const std::string& path);

 private:
  struct Histogram {
    std::vector<std::uint64_t> counts;  // per bucket (not cumulative), +Inf last
    double sum = 0;
    std::uint64_t count = 0;
  };
  void observe(Histogram& h, double seconds);

  const service::Readiness& readiness_;
  const service::ModelLoader& loader_;
  MetricsSources sources_;
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
  std::map<std::string, Histogram> stages_;
};

// Registers GET /metrics on `server`.
void register_metrics_route(httplib::Server& server, const Metrics& metrics);

// /metrics on its own listener.
class MetricsServer {
 public:
  explicit MetricsServer(const Metrics& metrics);
  ~MetricsServer();
  // Binds host:port (port 0: any free one) and serves on a background thread; returns the port.
  // Throws std::runtime_error when it cannot listen.
  int start(const std::string& host, int port);
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace cutout::http
