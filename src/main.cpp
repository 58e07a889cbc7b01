// cutout-server: settings -> logging -> signals -> the app (port open, model loading in the
// background) -> serve until SIGTERM/SIGINT -> graceful stop. The wiring itself is app::App.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "cutout/app/app.hpp"
#include "cutout/config/settings.hpp"
#include "cutout/core/process_clock.hpp"
#include "cutout/logging/logging.hpp"

namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) { g_stop_signal.store(signal); }  // nothing else here

// Ends the process without destructors, for threads that cannot be joined in time.
[[noreturn]] void flush_and_exit(int code) {
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
  setup_logging(parsed.settings.log_format);

  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the process

  app::App app(parsed.settings);
  try {
    const int port = app.listen();
    log_event(spdlog::level::info, "listening",
              {{"host", app.settings().host}, {"port", port},
               {"since_process_start_ms", ms_since_process_start(std::chrono::steady_clock::now())}});
  } catch (const std::exception& e) {
    log_event(spdlog::level::critical, "cannot listen", {{"reason", e.what()}});
    flush_and_exit(app::kExitCannotListen);
  }
  app.start_loading();

  const app::RunOutcome outcome = app.run_until_stopped(g_stop_signal);
  if (outcome.abandon_threads) flush_and_exit(outcome.exit_code);
  spdlog::default_logger()->flush();
  return outcome.exit_code;
}
