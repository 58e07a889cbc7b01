#include "support/in_process_server.hpp"

#include "support/fixtures.hpp"

namespace cutout::testing {

config::Settings test_settings(const std::string& fixture_model) {
  config::Settings s;
  s.host = "127.0.0.1";
  s.port = 0;
  s.model_path = fixture_path(fixture_model);
  s.device = DeviceSetting::Cpu;
  s.input_size = 32;
  s.max_body_bytes = 1u << 20;
  s.max_pixels = 4'000'000;
  s.queue_depth = 4;
  s.cors_origins = {"https://app.example"};
  return s;
}

InProcessServer::InProcessServer(config::Settings settings) : app_(std::move(settings)) { app_.listen(); }

}  // namespace cutout::testing
