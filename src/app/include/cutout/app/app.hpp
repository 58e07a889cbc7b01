#pragma once
// The one wiring of the service: from config::Settings to the readiness state, the model loader,
// the inference gate, the background remover and the HTTP server. main(), the in-process test
// server and the request fuzzer all build this; none wires the parts by hand.

#include <atomic>
#include <memory>

#include "cutout/config/settings.hpp"
#include "cutout/service/readiness.hpp"

namespace httplib {
class Server;
}

namespace cutout::app {

// Process exit codes (also in README's operations section).
constexpr int kExitOk = 0;
constexpr int kExitBadSettings = 2;
constexpr int kExitStartFailed = 3;
constexpr int kExitCannotListen = 4;
constexpr int kExitShutdownTimeout = 5;

// How a run ended. `abandon_threads`: a thread cannot be joined in time (LibTorch still loading,
// or a request past the shutdown budget), so the process must end without running destructors.
struct RunOutcome {
  int exit_code = kExitOk;
  bool abandon_threads = false;
};

class App {
 public:
  // Nothing is opened or loaded until the calls below.
  explicit App(config::Settings settings);
  // `server`: the library server to serve on; the request fuzzer passes one it can feed from
  // memory.
  App(config::Settings settings, std::unique_ptr<httplib::Server> server);
  ~App();  // stops serving, then waits for the loader thread
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Opens the port and accepts connections on a background thread; marks the PortOpen milestone;
  // then the /metrics listener when --metrics-port is set. Returns the port (useful with port 0).
  // Throws std::runtime_error when it cannot listen (on either).
  int listen();
  // The whole model start-up on a background thread (device, load, warm-up, ready or failed).
  void start_loading();
  // The same on the calling thread (tests, the fuzzer).
  void load_now();

  // After listen() and start_loading(): serves until `stop_signal` is non-zero, or until a failed
  // start has been visible on /health for settings().fail_exit_delay_ms; then stops within the
  // shutdown budget. Logs each step.
  RunOutcome run_until_stopped(const std::atomic<int>& stop_signal);

  // Stops accepting; in-flight requests finish first.
  void stop_serving();

  service::Readiness& readiness();
  const config::Settings& settings() const;
  int port() const;
  // The /metrics listener's port after listen(), or -1 when --metrics-port is 0.
  int metrics_port() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace cutout::app
