// App::run_until_stopped: the serving life of the process after the port is open and the load
// has started: wait for a stop signal (or a failed start), then stop within the budget.

#include <chrono>
#include <thread>

#include "cutout/app/app.hpp"
#include "cutout/logging/logging.hpp"

namespace cutout::app {
namespace {

// Cloud Run sends SIGTERM and kills 10 s later; finish in-flight work within this.
constexpr auto kShutdownBudget = std::chrono::seconds(8);
constexpr auto kMainLoopTick = std::chrono::milliseconds(20);

}  // namespace

RunOutcome App::run_until_stopped(const std::atomic<int>& stop_signal) {
  RunOutcome outcome;
  service::Readiness& state = readiness();
  std::chrono::steady_clock::time_point failed_at{};
  while (stop_signal.load() == 0) {
    if (state.phase() == service::Phase::Failed) {
      const auto now = std::chrono::steady_clock::now();
      if (failed_at == std::chrono::steady_clock::time_point{}) failed_at = now;
      // Keep answering /health for a moment so a probe (or a person) can see why.
      if (now - failed_at >= std::chrono::milliseconds(settings().fail_exit_delay_ms)) {
        outcome.exit_code = kExitStartFailed;
        break;
      }
    }
    std::this_thread::sleep_for(kMainLoopTick);
  }

  // A stop signal in the failed-start window still reports the failed start.
  if (state.phase() == service::Phase::Failed) outcome.exit_code = kExitStartFailed;
  log_event(spdlog::level::info, "shutting down",
            {{"signal", stop_signal.load()}, {"phase", to_string(state.phase())}});
  // Stop on a helper thread so the deadline holds even if a request hangs.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    stop_serving();
    stopped.store(true);
  });
  const auto deadline = std::chrono::steady_clock::now() + kShutdownBudget;
  while (!stopped.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kMainLoopTick);
  }
  if (!stopped.load()) {
    log_event(spdlog::level::err, "shutdown deadline passed with requests in flight");
    stopper.detach();
    return RunOutcome{kExitShutdownTimeout, true};
  }
  stopper.join();
  const auto phase = state.phase();
  if (phase != service::Phase::Ready && phase != service::Phase::Failed) {
    // Still loading: LibTorch cannot be interrupted, and nothing is lost by not waiting.
    log_event(spdlog::level::info, "exiting while the model was still loading");
    outcome.abandon_threads = true;
    return outcome;
  }
  log_event(spdlog::level::info, "stopped", {{"exit_code", outcome.exit_code}});
  return outcome;
}

}  // namespace cutout::app
