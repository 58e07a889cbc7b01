#include "cutout/http/metrics.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <httplib.h>

namespace cutout::http {
namespace {

// Seconds: from a fast probe answer to a slow CPU forward pass of a large model.
constexpr std::array<double, 14> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,     2.5,  5,     10,   30,  60};
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

std::optional<std::uint64_t> resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return std::nullopt;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Metrics::Metrics(const service::Readiness& readiness, const service::ModelLoader& loader,
                 MetricsSources sources)
    : readiness_(readiness), loader_(loader), sources_(std::move(sources)) {}

std::string Metrics::route_of(const std::string& path) {
  for (const char* route : {"/health", "/health/live", "/warmup", "/remove-background", "/metrics"}) {
    if (path == route) return route;
  }
  if (path == "/" || path == "/app.js" || path == "/app.css" || path == "/index.html") return "/";
  return "other";
}

void Metrics::observe(Histogram& h, double seconds) {
  if (h.counts.empty()) h.counts.assign(kBuckets.size() + 1, 0);
  std::size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  ++h.counts[i];
  h.sum += seconds;
  ++h.count;
}

void Metrics::record(const httplib::Request& request, const httplib::Response& response, double seconds) {
  const std::string route = route_of(request.path);
  // Server-Timing: "decode;dur=1.2, preprocess;dur=0.4, inference;dur=9.0;desc=..., ..." in ms.
  std::vector<std::pair<std::string, double>> stages;
  std::istringstream timing(response.get_header_value("Server-Timing"));
  std::string item;
  while (std::getline(timing, item, ',')) {
    const auto begin = item.find_first_not_of(' ');
    const auto semicolon = item.find(';');
    const auto dur = item.find("dur=");
    if (begin == std::string::npos || semicolon == std::string::npos || dur == std::string::npos) continue;
    stages.emplace_back(item.substr(begin, semicolon - begin), std::strtod(item.c_str() + dur + 4, nullptr) / 1000.0);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, request.method, response.status}];
  if (seconds >= 0) observe(durations_[route], seconds);  // < 0: refused before routing, not timed
  for (const auto& [stage, stage_seconds] : stages) observe(stages_[stage], stage_seconds);
}

std::string Metrics::render() const {
  std::ostringstream out;
  const auto histograms = [&out](const char* name, const char* label,
                                 const std::map<std::string, Histogram>& series) {
    for (const auto& [value, h] : series) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h.counts.size(); ++i) {
        cumulative += h.counts[i];
        out << name << "_bucket{" << label << "=\"" << escape(value) << "\",le=\""
            << (i < kBuckets.size() ? number(kBuckets[i]) : "+Inf") << "\"} " << cumulative << '\n';
      }
      out << name << "_sum{" << label << "=\"" << escape(value) << "\"} " << number(h.sum) << '\n';
      out << name << "_count{" << label << "=\"" << escape(value) << "\"} " << h.count << '\n';
    }
  };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    header(out, "cutout_http_requests_total", "counter", "HTTP answers by route, method and status.");
    for (const auto& [key, count] : requests_) {
      const auto& [route, method, status] = key;
      out << "cutout_http_requests_total{route=\"" << escape(route) << "\",method=\"" << escape(method)
          << "\",status=\"" << status << "\"} " << count << '\n';
    }
    header(out, "cutout_http_request_duration_seconds", "histogram", "Request to answer, by route.");
    histograms("cutout_http_request_duration_seconds", "route", durations_);
    header(out, "cutout_stage_duration_seconds", "histogram",
           "Server-Timing stages of /remove-background (inference includes the queue wait).");
    histograms("cutout_stage_duration_seconds", "stage", stages_);
  }
  if (sources_.queue) {
    const QueueStats q = sources_.queue();
    header(out, "cutout_inference_queue_depth", "gauge", "Requests waiting for or running a forward pass.");
    out << "cutout_inference_queue_depth " << q.inside << '\n';
    header(out, "cutout_inference_queue_capacity", "gauge", "The queue's limit (--queue-depth).");
    out << "cutout_inference_queue_capacity " << q.capacity << '\n';
    header(out, "cutout_inference_queue_rejections_total", "counter", "Requests refused with 503 queue_full.");
    out << "cutout_inference_queue_rejections_total " << q.rejected << '\n';
    header(out, "cutout_forward_passes_total", "counter",
           "Forward passes run for requests (not for those whose client left while queued).");
    out << "cutout_forward_passes_total " << q.forward_passes << '\n';
    header(out, "cutout_inference_queue_timeouts_total", "counter",
           "Requests that waited --max-queue-wait-ms for a forward pass: 503 queue_timeout.");
    out << "cutout_inference_queue_timeouts_total " << q.timed_out << '\n';
  }
  if (sources_.memory_budget) {
    const service::BudgetStats b = sources_.memory_budget();
    header(out, "cutout_memory_budget_bytes", "gauge",
           "What requests may hold together (0 until the first request sizes it, or unlimited).");
    out << "cutout_memory_budget_bytes " << b.capacity_bytes << '\n';
    header(out, "cutout_memory_budget_in_use_bytes", "gauge", "Estimated peaks of the requests in progress.");
    out << "cutout_memory_budget_in_use_bytes " << b.in_use_bytes << '\n';
    header(out, "cutout_memory_budget_rejections_total", "counter", "Requests refused with 503 busy.");
    out << "cutout_memory_budget_rejections_total " << b.refused << '\n';
  }
  const service::Phase phase = readiness_.phase();
  header(out, "cutout_readiness_phase", "gauge", "1 for the current start-up phase.");
  for (auto p : {service::Phase::Starting, service::Phase::LoadingModel, service::Phase::WarmingUp,
                 service::Phase::Ready, service::Phase::Failed}) {
    out << "cutout_readiness_phase{phase=\"" << service::to_string(p) << "\"} " << (p == phase ? 1 : 0) << '\n';
  }
  header(out, "cutout_startup_milestone_seconds", "gauge", "Seconds since process start of each start-up milestone reached.");
  const service::Timeline timeline = readiness_.timeline();
  for (int m = 0; m < static_cast<int>(service::Milestone::Count); ++m) {
    if (const auto at = timeline.at_ms[m]) {
      out << "cutout_startup_milestone_seconds{milestone=\""
          << escape(service::to_string(static_cast<service::Milestone>(m))) << "\"} " << number(*at / 1000.0) << '\n';
    }
  }
  if (phase == service::Phase::Ready) {
    const service::ModelInfo info = loader_.info();
    header(out, "cutout_model_info", "gauge", "The loaded model.");
    out << "cutout_model_info{name=\"" << escape(info.name) << "\",mode=\"" << escape(info.mode)
        << "\",device=\"" << escape(info.device) << "\",precision=\"" << escape(info.precision)
        << "\",input=\"" << info.input_width << 'x' << info.input_height << "\"} 1\n";
  }
  if (const auto rss = resident_bytes()) {
    header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out << "process_resident_memory_bytes " << *rss << '\n';
  }
  if (sources_.gpu_memory) {
    if (const auto gpu = sources_.gpu_memory()) {
      header(out, "cutout_gpu_memory_allocated_bytes", "gauge", "GPU memory held by tensors (LibTorch's allocator).");
      out << "cutout_gpu_memory_allocated_bytes " << gpu->allocated_bytes << '\n';
      header(out, "cutout_gpu_memory_reserved_bytes", "gauge", "GPU memory reserved by LibTorch's caching allocator.");
      out << "cutout_gpu_memory_reserved_bytes " << gpu->reserved_bytes << '\n';
    }
  }
  return out.str();
}

void register_metrics_route(httplib::Server& server, const Metrics& metrics) {
  server.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(metrics.render(), kContentType);
  });
}

MetricsServer::MetricsServer(const Metrics& metrics) : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(1); };
  register_metrics_route(*server_, metrics);
}

MetricsServer::~MetricsServer() { stop(); }

int MetricsServer::start(const std::string& host, int port) {
  const int bound = port == 0 ? server_->bind_to_any_port(host)
                              : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + " for /metrics");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs (as in HttpServer::start).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  return bound;
}

void MetricsServer::stop() {
  if (server_->is_running() || thread_.joinable()) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cutout::http
