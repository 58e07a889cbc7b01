#include "cutout/config/settings.hpp"

#include <map>
#include <sstream>

#include <CLI/CLI.hpp>

namespace cutout::config {
namespace {

template <typename T>
T lookup(const std::map<std::string, T>& table, const std::string& key) {
  return table.at(key);  // CLI::IsMember already refused other keys
}

// Comma-separated items, trimmed; `trailing` characters are also cut from each item's end.
std::vector<std::string> split_list(const std::string& text, const char* trailing = " \t") {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto begin = item.find_first_not_of(" \t");
    const auto end = item.find_last_not_of(trailing);
    if (begin != std::string::npos) out.push_back(item.substr(begin, end - begin + 1));
  }
  return out;
}

std::vector<std::string> split_origins(const std::string& text) { return split_list(text, " \t/"); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// RFC 9110 token characters: what a header name may hold.
bool is_header_name(const std::string& name) {
  return !name.empty() && name.find_first_not_of("!#$%&'*+-.^_`|~0123456789"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
                              std::string::npos;
}

}  // namespace

ParseOutcome parse_settings(int argc, const char* const* argv) {
  ParseOutcome outcome;
  Settings& s = outcome.settings;
  std::string device = "auto", precision = "auto", log_format = "json", cors;
  std::string cpu_threads = s.cpu_threads > 0 ? std::to_string(s.cpu_threads) : "auto";
  std::string allow_headers = join(s.cors_allow_headers);

  CLI::App app{"cutout-server: removes image backgrounds over HTTP (InSPyReNet/ISNet, LibTorch)",
               "cutout-server"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(34);

  app.add_option("--port", s.port, "TCP port to listen on (0: any free port)")
      ->envname("PORT")->check(CLI::Range(0, 65535));
  app.add_option("--host", s.host, "Address to bind")->envname("CUTOUT_HOST");
  app.add_option("--model", s.model_path, "TorchScript model file")->envname("CUTOUT_MODEL");
  app.add_option("--device", device, "auto (cuda if usable, else cpu), cpu or cuda")
      ->envname("CUTOUT_DEVICE")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--precision", precision, "auto (fp16 on cuda, fp32 on cpu), fp32 or fp16")
      ->envname("CUTOUT_PRECISION")->check(CLI::IsMember({"auto", "fp32", "fp16"}));
  app.add_option("--input-size", s.input_size, "Model input size for files without cutout.json")
      ->envname("CUTOUT_INPUT_SIZE")->check(CLI::Range(16, 8192));
  app.add_option("--warmup-runs", s.warmup_runs, "Forward passes before ready")
      ->envname("CUTOUT_WARMUP_RUNS")->check(CLI::Range(0, 10));
  app.add_option("--http-threads", s.http_threads,
                 "HTTP threads kept started (more start on demand, up to --max-connections)")
      ->envname("CUTOUT_HTTP_THREADS")->check(CLI::Range(1, 256));
  app.add_option("--cpu-threads", cpu_threads,
                 "Threads for the CPU stages and LibTorch's CPU work: auto (the container's CPU "
                 "quota and affinity) or 1-1024")
      ->envname("CUTOUT_CPU_THREADS")
      ->check(CLI::IsMember({"auto"}) | CLI::Range(1, 1024));
  app.add_option("--queue-depth", s.queue_depth,
                 "Requests allowed to wait for or run a forward pass; more get 503")
      ->envname("CUTOUT_QUEUE_DEPTH")->check(CLI::Range(1, 1024));
  app.add_option("--max-body-bytes", s.max_body_bytes, "Largest request body accepted")
      ->envname("CUTOUT_MAX_BODY_BYTES")->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 31));
  app.add_option("--max-pixels", s.max_pixels, "Largest image (width x height) accepted")
      ->envname("CUTOUT_MAX_PIXELS")->check(CLI::Range(std::size_t{1}, std::size_t{1} << 31));
  app.add_option("--decode-timeout-ms", s.decode_timeout_ms,
                 "Longest decode of one upload before it is stopped (400 decode_timeout); 0: none")
      ->envname("CUTOUT_DECODE_TIMEOUT_MS")->check(CLI::Range(0, 600'000));
  app.add_option("--cors-origin", cors,
                 "Comma-separated origins allowed by CORS (exact, e.g. https://app.example.com; * for any)")
      ->envname("CUTOUT_CORS_ORIGIN");
  app.add_option("--read-timeout-s", s.read_timeout_s,
                 "Seconds a request may go without sending a byte before it is dropped")
      ->envname("CUTOUT_READ_TIMEOUT_S")->check(CLI::Range(1, 3600));
  app.add_option("--write-timeout-s", s.write_timeout_s,
                 "Seconds an answer may go without the client reading a byte before it is dropped")
      ->envname("CUTOUT_WRITE_TIMEOUT_S")->check(CLI::Range(1, 3600));
  app.add_option("--log-format", log_format, "json (one object per line, for Cloud Logging) or text")
      ->envname("CUTOUT_LOG_FORMAT")->check(CLI::IsMember({"json", "text"}));
  app.add_option("--fail-exit-delay-ms", s.fail_exit_delay_ms,
                 "After a failed start, answer /health this long before exiting non-zero")
      ->envname("CUTOUT_FAIL_EXIT_DELAY_MS")->check(CLI::Range(0, 600000));
  app.add_option("--cors-allow-headers", allow_headers,
                 "Comma-separated request headers a cross-origin page may send (CORS preflight)")
      ->envname("CUTOUT_CORS_ALLOW_HEADERS");
  app.add_option("--api-key", s.api_key,
                 "Require this key (X-API-Key or Authorization: Bearer) on every route but the "
                 "health probes; empty: none")
      ->envname("CUTOUT_API_KEY");
  app.add_option("--trace-project", s.trace_project,
                 "Google Cloud project for the trace field of log lines (projects/P/traces/ID)")
      ->envname("GOOGLE_CLOUD_PROJECT");
  app.add_option("--trusted-proxy-hops", s.trusted_proxy_hops,
                 "Proxies in front that append to X-Forwarded-For (1 on Cloud Run); 0: use the "
                 "socket's address")
      ->envname("CUTOUT_TRUSTED_PROXY_HOPS")->check(CLI::Range(0, 16));
  app.add_option("--metrics-host", s.metrics_host, "Address of the /metrics listener")
      ->envname("CUTOUT_METRICS_HOST");
  app.add_option("--metrics-port", s.metrics_port, "Port of the /metrics listener (Prometheus text format), e.g. 9464; 0: none")
      ->envname("CUTOUT_METRICS_PORT")->check(CLI::Range(0, 65535));
  app.add_flag("--metrics-public", s.metrics_public, "Also serve /metrics on the main port")
      ->envname("CUTOUT_METRICS_PUBLIC");
  app.add_option("--memory-budget-bytes", s.memory_budget_bytes,
                 "Memory all requests may hold together (each reserves its estimated peak; more "
                 "get 503 busy); 0: the container's limit (cgroup), else the machine's, minus what "
                 "the loaded model holds, x 0.9")
      ->envname("CUTOUT_MEMORY_BUDGET_BYTES");
  app.add_option("--max-queue-wait-ms", s.max_queue_wait_ms,
                 "Longest a request waits for its forward pass before 503 queue_timeout; 0: no limit")
      ->envname("CUTOUT_MAX_QUEUE_WAIT_MS")->check(CLI::Range(0, 3'600'000));
  app.add_option("--max-connections", s.max_connections,
                 "Connections served at once, one thread each (started on demand); when all are "
                 "busy the longest-idle one is closed")
      ->envname("CUTOUT_MAX_CONNECTIONS")->check(CLI::Range(1, 16384));
  app.add_option("--idle-timeout-s", s.idle_timeout_s,
                 "Seconds a keep-alive connection may wait for its next (or first) request")
      ->envname("CUTOUT_IDLE_TIMEOUT_S")->check(CLI::Range(1, 3600));
  app.add_option("--header-timeout-s", s.header_timeout_s,
                 "Seconds a request's line and headers may take in total (then 408)")
      ->envname("CUTOUT_HEADER_TIMEOUT_S")->check(CLI::Range(1, 3600));
  app.add_option("--body-timeout-s", s.body_timeout_s,
                 "Seconds a request's body may take in total (then 408)")
      ->envname("CUTOUT_BODY_TIMEOUT_S")->check(CLI::Range(1, 3600));
  app.set_version_flag("--version", "cutout-server 0.1.0");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    outcome.exit_now = true;
    outcome.output = app.help();
    return outcome;
  } catch (const CLI::CallForVersion& e) {
    outcome.exit_now = true;
    outcome.output = std::string(e.what()) + "\n";
    return outcome;
  } catch (const CLI::ParseError& e) {
    outcome.exit_now = true;
    outcome.exit_code = 2;
    outcome.output = std::string("cutout-server: error: ") + e.what() +
                     " (see cutout-server --help)\n";
    return outcome;
  }

  s.device = lookup<DeviceSetting>(
      {{"auto", DeviceSetting::Auto}, {"cpu", DeviceSetting::Cpu}, {"cuda", DeviceSetting::Cuda}},
      device);
  s.precision = lookup<PrecisionSetting>({{"auto", PrecisionSetting::Auto},
                                          {"fp32", PrecisionSetting::Fp32},
                                          {"fp16", PrecisionSetting::Fp16}},
                                         precision);
  s.log_format = log_format == "json" ? LogFormat::Json : LogFormat::Text;
  s.cpu_threads = cpu_threads == "auto" ? 0 : std::stoi(cpu_threads);
  s.cors_origins = split_origins(cors);
  s.cors_allow_headers = split_list(allow_headers);
  std::string problem;
  for (const auto& name : s.cors_allow_headers) {
    if (!is_header_name(name)) problem = "--cors-allow-headers: '" + name + "' is not a header name";
  }
  if (s.metrics_port != 0 && s.metrics_port == s.port) {
    problem = "--metrics-port must differ from --port (0 turns the metrics listener off)";
  }
  const char* conflict = compute_settings_conflict(s.device, s.precision);
  if (conflict != nullptr) problem = conflict;
  if (s.model_path.empty()) problem = "--model must name a file";
  if (!problem.empty()) {
    outcome.exit_now = true;
    outcome.exit_code = 2;
    outcome.output = "cutout-server: error: " + problem + "\n";
  }
  return outcome;
}

}  // namespace cutout::config
