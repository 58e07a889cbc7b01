#pragma once
// The app as main() wires it (app::App), minus the process: a real HTTP server on a free loopback
// port. Shared by the in-process HTTP tests and the hostile-input tests.

#include <string>

#include "cutout/app/app.hpp"
#include "cutout/config/settings.hpp"
#include "cutout/service/readiness.hpp"

namespace cutout::testing {

// The service's own defaults (config::Settings) with what the tests change: loopback, any free
// port, the CPU, the tiny fixture model, small limits, one CORS origin.
config::Settings test_settings(const std::string& fixture_model = "tiny.pt");

class InProcessServer {
 public:
  explicit InProcessServer(config::Settings settings = test_settings());
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  void load() { app_.load_now(); }  // the model load main() runs on its loader thread
  void stop() { app_.stop_serving(); }  // what SIGTERM does: returns when every request is answered
  service::Readiness& readiness() { return app_.readiness(); }
  int port() const { return app_.port(); }

 private:
  app::App app_;
};

}  // namespace cutout::testing
