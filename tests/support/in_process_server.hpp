#pragma once
// Server, service and a fixture model wired as main() does, minus the process: a real HTTP server
// on a free loopback port. Shared by the in-process HTTP tests and the hostile-input tests.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "cutout/engine/inference_gate.hpp"
#include "cutout/http/server.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/readiness.hpp"
#include "cutout/service/remove_background.hpp"

namespace cutout::testing {

struct ServerOptions {
  std::string model = "tiny.pt";  // a name in the fixtures directory
  std::size_t max_body_bytes = 1u << 20;
  std::size_t max_pixels = 4'000'000;
  int queue_depth = 4;
  int threads = 8;
  std::vector<std::string> cors = {"https://app.example"};
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
};

class InProcessServer {
 public:
  explicit InProcessServer(ServerOptions o = {});
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  void load() { loader_.load(); }  // the model load main() runs on its loader thread
  service::Readiness& readiness() { return readiness_; }
  int port() const { return port_; }

 private:
  service::Readiness readiness_;
  service::ModelLoader loader_;
  engine::InferenceGate gate_;
  service::BackgroundRemover remover_;
  http::HttpServer server_;
  int port_ = 0;
};

}  // namespace cutout::testing
