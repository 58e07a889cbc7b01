#pragma once
// Every setting of cutout-server: a flag with an environment twin, a default shown by --help.
// A bad value stops the start with one clear line and exit code 2. The defaults below are the
// only ones: the option structs of the lower layers have none and are filled from these by
// app::App (src/app), which main, the in-process test server and the request fuzzer all use.

#include <cstddef>
#include <string>
#include <vector>

#include "cutout/core/compute_settings.hpp"
#include "cutout/logging/logging.hpp"

namespace cutout::config {

struct Settings {
  int port = 8080;
  std::string host = "0.0.0.0";
  std::string model_path = "models/default.pt";
  DeviceSetting device = DeviceSetting::Auto;
  PrecisionSetting precision = PrecisionSetting::Auto;
  int input_size = 1024;        // for model files without cutout.json
  int warmup_runs = 1;
  int http_threads = 8;         // connection threads kept started (see max_connections)
  // Threads of the CPU stages' pool and of LibTorch's intra-op work; 0 (auto): the CPUs the
  // container may use (cgroup CPU quota, affinity: core/cpu_quota.hpp).
  int cpu_threads = 0;
  int queue_depth = 4;          // requests waiting for or running a forward pass
  std::size_t max_body_bytes = 32u * 1024u * 1024u;
  std::size_t max_pixels = 50'000'000;
  int decode_timeout_ms = 15'000;  // one upload's decode; 0: none (issue 14, decoder bombs)
  std::vector<std::string> cors_origins;  // exact origins, or "*"
  int read_timeout_s = 30;   // a client that stops sending is dropped
  int write_timeout_s = 30;  // a client that stops reading is dropped
  LogFormat log_format = LogFormat::Json;
  int fail_exit_delay_ms = 5000;  // how long a failed start keeps answering /health
  // Request headers a cross-origin page may send (the CORS preflight's Allow-Headers).
  std::vector<std::string> cors_allow_headers = {"Authorization", "Content-Type", "X-API-Key",
                                                 "X-Request-Id", "traceparent"};
  std::string api_key;        // empty: no key asked; else X-API-Key or Authorization: Bearer
  std::string trace_project;  // Google Cloud project for log lines' trace field (GOOGLE_CLOUD_PROJECT)
  int trusted_proxy_hops = 0;  // >0: client address from X-Forwarded-For, this many entries from the right
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 0;        // /metrics on its own listener (e.g. 9464); 0: none
  bool metrics_public = false;  // also serve /metrics on the main port
  // Memory budget and back-pressure (issue 14): what requests may hold together, in bytes (0: the
  // container's memory limit, else the machine's, minus what the process holds once warmed up),
  // and the longest a request waits for its forward pass (0: no limit).
  std::size_t memory_budget_bytes = 0;
  int max_queue_wait_ms = 10'000;
  // Connections: each open one has its own thread (started on demand; http_threads are kept
  // started), so slow clients never hold what probes need. Reading a request has total deadlines.
  int max_connections = 512;   // served at once; when all are busy the longest-idle one is closed
  int idle_timeout_s = 5;      // keep-alive: waiting for a connection's next (or first) request
  int header_timeout_s = 10;   // first byte of a request to the end of its headers, in total
  int body_timeout_s = 60;     // end of the headers to the end of the body, in total
};

struct ParseOutcome {
  Settings settings;
  bool exit_now = false;  // --help / --version, or an error
  int exit_code = 0;
  std::string output;     // what to print before exiting (help text or the one error line)
};

// Reads flags, then the environment for flags not given. Never exits the process itself.
ParseOutcome parse_settings(int argc, const char* const* argv);

}  // namespace cutout::config
