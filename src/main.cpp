// cutout-server: wiring only. Settings -> logging -> port open -> model loads in the background ->
// serve until SIGTERM/SIGINT -> graceful stop.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <spdlog/spdlog.h>

#include "cutout/config/settings.hpp"
#include "cutout/core/logging.hpp"
#include "cutout/core/process_clock.hpp"
#include "cutout/engine/inference_gate.hpp"
#include "cutout/http/server.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/readiness.hpp"
#include "cutout/service/remove_background.hpp"

namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) { g_stop_signal.store(signal); }  // nothing else here

// Cloud Run sends SIGTERM and kills 10 s later; finish in-flight work within this.
constexpr auto kShutdownBudget = std::chrono::seconds(8);
constexpr auto kMainLoopTick = std::chrono::milliseconds(20);

constexpr int kExitBadSettings = 2;
constexpr int kExitStartFailed = 3;
constexpr int kExitCannotListen = 4;
constexpr int kExitShutdownTimeout = 5;

void flush_and_exit(int code) {
  spdlog::default_logger()->flush();
  std::fflush(stdout);
  std::_Exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cutout;
  process_start_time();  // anchor the clock as early as possible

  const config::ParseOutcome parsed = config::parse_settings(argc, argv);
  if (parsed.exit_now) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  const config::Settings& s = parsed.settings;
  if (s.device == engine::DeviceSetting::Cpu && s.precision == engine::PrecisionSetting::Fp16) {
    std::fputs("cutout-server: error: --precision fp16 needs --device cuda or auto\n", stderr);
    return kExitBadSettings;
  }
  setup_logging(s.log_format);

  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the process

  service::Readiness readiness;
  service::ModelLoader loader(readiness, service::LoadPlan{s.model_path, s.device, s.precision,
                                                           s.input_size, s.warmup_runs});
  engine::InferenceGate gate(static_cast<std::size_t>(s.queue_depth));
  service::BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{s.max_pixels},
                                     imaging::EncodeOptions{});
  http::HttpServer server(http::AppContext{readiness, loader, remover},
                          http::HttpOptions{s.host, s.port, s.http_threads, s.max_body_bytes,
                                            s.cors_origins});
  try {
    const int port = server.bind();
    server.start();
    readiness.mark(service::Milestone::PortOpen);
    log_event(spdlog::level::info, "listening",
              {{"host", s.host}, {"port", port},
               {"since_process_start_ms", ms_since_process_start(std::chrono::steady_clock::now())}});
  } catch (const std::exception& e) {
    log_event(spdlog::level::critical, "cannot listen", {{"reason", e.what()}});
    flush_and_exit(kExitCannotListen);
  }

  loader.start();

  int exit_code = 0;
  std::chrono::steady_clock::time_point failed_at{};
  while (g_stop_signal.load() == 0) {
    if (readiness.phase() == service::Phase::Failed) {
      const auto now = std::chrono::steady_clock::now();
      if (failed_at == std::chrono::steady_clock::time_point{}) failed_at = now;
      // Keep answering /health for a moment so a probe (or a person) can see why.
      if (now - failed_at >= std::chrono::milliseconds(s.fail_exit_delay_ms)) {
        exit_code = kExitStartFailed;
        break;
      }
    }
    std::this_thread::sleep_for(kMainLoopTick);
  }

  log_event(spdlog::level::info, "shutting down",
            {{"signal", g_stop_signal.load()}, {"phase", to_string(readiness.phase())}});
  // Stop on a helper thread so the deadline holds even if a request hangs.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.stop();
    stopped.store(true);
  });
  const auto deadline = std::chrono::steady_clock::now() + kShutdownBudget;
  while (!stopped.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kMainLoopTick);
  }
  if (!stopped.load()) {
    log_event(spdlog::level::err, "shutdown deadline passed with requests in flight");
    flush_and_exit(kExitShutdownTimeout);
  }
  stopper.join();
  const auto phase = readiness.phase();
  if (phase != service::Phase::Ready && phase != service::Phase::Failed) {
    // Still loading: LibTorch cannot be interrupted, and nothing is lost by not waiting.
    log_event(spdlog::level::info, "exiting while the model was still loading");
    flush_and_exit(exit_code);
  }
  loader.join();
  log_event(spdlog::level::info, "stopped", {{"exit_code", exit_code}});
  spdlog::default_logger()->flush();
  return exit_code;
}
