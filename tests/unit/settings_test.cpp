#include "cutout/config/settings.hpp"

#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

namespace cutout::config {
namespace {

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnv) unsetenv(name);
  }
  void TearDown() override {
    for (const char* name : kEnv) unsetenv(name);
  }
  static ParseOutcome parse(std::vector<const char*> args) {
    args.insert(args.begin(), "cutout-server");
    return parse_settings(static_cast<int>(args.size()), args.data());
  }
  static constexpr const char* kEnv[] = {"PORT", "CUTOUT_MODEL", "CUTOUT_DEVICE", "CUTOUT_WARMUP_RUNS",
                                         "CUTOUT_CORS_ORIGIN", "CUTOUT_LOG_FORMAT", "CUTOUT_PRECISION",
                                         "CUTOUT_READ_TIMEOUT_S", "CUTOUT_WRITE_TIMEOUT_S",
                                         "CUTOUT_CORS_ALLOW_HEADERS", "CUTOUT_API_KEY", "GOOGLE_CLOUD_PROJECT",
                                         "CUTOUT_TRUSTED_PROXY_HOPS", "CUTOUT_METRICS_PORT",
                                         "CUTOUT_METRICS_HOST", "CUTOUT_METRICS_PUBLIC",
                                         "CUTOUT_QUEUE_DEPTH", "CUTOUT_HTTP_THREADS",
                                         "CUTOUT_MEMORY_BUDGET_BYTES", "CUTOUT_MAX_QUEUE_WAIT_MS",
                                         "CUTOUT_CPU_THREADS"};
};

TEST_F(SettingsTest, DefaultsAreTheDocumentedOnes) {
  const auto out = parse({});
  ASSERT_FALSE(out.exit_now);
  EXPECT_EQ(out.settings.port, 8080);
  EXPECT_EQ(out.settings.host, "0.0.0.0");
  EXPECT_EQ(out.settings.model_path, "models/default.pt");
  EXPECT_EQ(out.settings.device, DeviceSetting::Auto);
  EXPECT_EQ(out.settings.precision, PrecisionSetting::Auto);
  EXPECT_EQ(out.settings.max_body_bytes, 32u * 1024u * 1024u);
  EXPECT_EQ(out.settings.max_pixels, 50'000'000u);
  EXPECT_TRUE(out.settings.cors_origins.empty());
  EXPECT_EQ(out.settings.log_format, LogFormat::Json);
  EXPECT_EQ(out.settings.read_timeout_s, 30);
  EXPECT_EQ(out.settings.write_timeout_s, 30);
}

TEST_F(SettingsTest, OperatingSettingsHaveDefaultsFlagsAndEnvironment) {
  auto out = parse({});
  ASSERT_FALSE(out.exit_now);
  EXPECT_EQ(out.settings.cors_allow_headers,
            (std::vector<std::string>{"Authorization", "Content-Type", "X-API-Key", "X-Request-Id", "traceparent"}));
  EXPECT_EQ(out.settings.api_key, "");
  EXPECT_EQ(out.settings.trace_project, "");
  EXPECT_EQ(out.settings.trusted_proxy_hops, 0);
  EXPECT_EQ(out.settings.metrics_host, "127.0.0.1");
  EXPECT_EQ(out.settings.metrics_port, 0);
  EXPECT_FALSE(out.settings.metrics_public);

  out = parse({"--cors-allow-headers", "Content-Type, X-Thing", "--api-key", "k", "--trace-project", "p1",
               "--trusted-proxy-hops", "1", "--metrics-port", "9464", "--metrics-public"});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.cors_allow_headers, (std::vector<std::string>{"Content-Type", "X-Thing"}));
  EXPECT_EQ(out.settings.api_key, "k");
  EXPECT_EQ(out.settings.trace_project, "p1");
  EXPECT_EQ(out.settings.trusted_proxy_hops, 1);
  EXPECT_EQ(out.settings.metrics_port, 9464);
  EXPECT_TRUE(out.settings.metrics_public);

  setenv("CUTOUT_API_KEY", "from-env", 1);
  setenv("GOOGLE_CLOUD_PROJECT", "my-proj", 1);
  setenv("CUTOUT_CORS_ALLOW_HEADERS", "Authorization", 1);
  setenv("CUTOUT_METRICS_PUBLIC", "true", 1);
  out = parse({});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.api_key, "from-env");
  EXPECT_EQ(out.settings.trace_project, "my-proj");
  EXPECT_EQ(out.settings.cors_allow_headers, (std::vector<std::string>{"Authorization"}));
  EXPECT_TRUE(out.settings.metrics_public);

  for (auto args : {std::vector<const char*>{"--cors-allow-headers", "Content-Type, Bad Header"},
                    std::vector<const char*>{"--metrics-port", "8080"},
                    std::vector<const char*>{"--trusted-proxy-hops", "-1"}}) {
    out = parse(args);
    EXPECT_TRUE(out.exit_now) << args[0];
    EXPECT_EQ(out.exit_code, 2) << args[0];
  }
}

// Back-pressure by default: fewer queue places than HTTP workers, so queue_full can be sent, and a
// bounded wait for the forward pass; a memory budget from the container unless one is given.
TEST_F(SettingsTest, BackPressureAndMemoryBudgetDefaultsFlagsAndEnvironment) {
  auto out = parse({});
  ASSERT_FALSE(out.exit_now);
  EXPECT_EQ(out.settings.queue_depth, 4);
  EXPECT_LT(out.settings.queue_depth, out.settings.http_threads);
  EXPECT_EQ(out.settings.max_queue_wait_ms, 10'000);
  EXPECT_EQ(out.settings.memory_budget_bytes, 0u);

  out = parse({"--memory-budget-bytes", "3000000000", "--max-queue-wait-ms", "0"});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.memory_budget_bytes, 3'000'000'000u);
  EXPECT_EQ(out.settings.max_queue_wait_ms, 0);

  setenv("CUTOUT_MEMORY_BUDGET_BYTES", "1234567", 1);
  setenv("CUTOUT_MAX_QUEUE_WAIT_MS", "2500", 1);
  out = parse({});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.memory_budget_bytes, 1'234'567u);
  EXPECT_EQ(out.settings.max_queue_wait_ms, 2500);

  for (auto args : {std::vector<const char*>{"--max-queue-wait-ms", "-1"},
                    std::vector<const char*>{"--memory-budget-bytes", "lots"}}) {
    out = parse(args);
    EXPECT_TRUE(out.exit_now) << args[0];
    EXPECT_EQ(out.exit_code, 2) << args[0];
  }
  out = parse({"--help"});
  for (const char* text : {"--memory-budget-bytes", "CUTOUT_MEMORY_BUDGET_BYTES", "--max-queue-wait-ms",
                           "CUTOUT_MAX_QUEUE_WAIT_MS", "10000"}) {
    EXPECT_NE(out.output.find(text), std::string::npos) << text;
  }
}

TEST_F(SettingsTest, CpuThreadsAreAutoOrACount) {
  auto out = parse({});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.cpu_threads, 0);  // auto: from the cgroup quota
  EXPECT_EQ(parse({"--cpu-threads", "auto"}).settings.cpu_threads, 0);
  EXPECT_EQ(parse({"--cpu-threads", "3"}).settings.cpu_threads, 3);
  setenv("CUTOUT_CPU_THREADS", "6", 1);
  EXPECT_EQ(parse({}).settings.cpu_threads, 6);
  EXPECT_EQ(parse({"--cpu-threads", "auto"}).settings.cpu_threads, 0);  // the flag wins
  unsetenv("CUTOUT_CPU_THREADS");
  for (const char* bad : {"0", "-2", "1025", "two", "1.5", ""}) {
    out = parse({"--cpu-threads", bad});
    EXPECT_TRUE(out.exit_now) << bad;
    EXPECT_EQ(out.exit_code, 2) << bad;
  }
  EXPECT_NE(parse({"--help"}).output.find("CUTOUT_CPU_THREADS"), std::string::npos);
}

TEST_F(SettingsTest, Fp16OnCpuIsRefusedAtStartWithTheReason) {
  const auto out = parse({"--device", "cpu", "--precision", "fp16"});
  EXPECT_TRUE(out.exit_now);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.output.find("fp16 needs a cuda device"), std::string::npos) << out.output;
  EXPECT_FALSE(parse({"--device", "auto", "--precision", "fp16"}).exit_now);  // decided at load
}

TEST_F(SettingsTest, FlagsAreRead) {
  const auto out = parse({"--port", "9000", "--device", "cpu", "--precision", "fp32", "--model",
                          "/m.pt", "--warmup-runs", "0", "--cors-origin",
                          "https://a.example, https://b.example/", "--log-format", "text"});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.port, 9000);
  EXPECT_EQ(out.settings.device, DeviceSetting::Cpu);
  EXPECT_EQ(out.settings.precision, PrecisionSetting::Fp32);
  EXPECT_EQ(out.settings.model_path, "/m.pt");
  EXPECT_EQ(out.settings.warmup_runs, 0);
  EXPECT_EQ(out.settings.cors_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(out.settings.log_format, LogFormat::Text);
}

TEST_F(SettingsTest, EnvironmentTwinsAreReadAndFlagsWin) {
  setenv("PORT", "7070", 1);
  setenv("CUTOUT_MODEL", "/env.pt", 1);
  setenv("CUTOUT_DEVICE", "cuda", 1);
  auto out = parse({});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.port, 7070);
  EXPECT_EQ(out.settings.model_path, "/env.pt");
  EXPECT_EQ(out.settings.device, DeviceSetting::Cuda);
  out = parse({"--port", "7171"});
  EXPECT_EQ(out.settings.port, 7171);
}

TEST_F(SettingsTest, BadValuesStopWithOneLineAndExitCode2) {
  for (const auto& args : std::vector<std::vector<const char*>>{
           {"--port", "http"}, {"--port", "70000"}, {"--device", "gpu"}, {"--precision", "int8"},
           {"--warmup-runs", "-1"}, {"--log-format", "xml"}, {"--no-such-flag"}, {"--model", ""},
           {"--device", "cpu", "--precision", "fp16"}, {"--read-timeout-s", "0"}}) {
    const auto out = parse(args);
    EXPECT_TRUE(out.exit_now) << args[0];
    EXPECT_EQ(out.exit_code, 2) << args[0];
    EXPECT_EQ(out.output.find("cutout-server: error:"), 0u) << out.output;
    EXPECT_EQ(out.output.find('\n'), out.output.size() - 1) << "one line: " << out.output;
  }
}

TEST_F(SettingsTest, BadEnvironmentValueStopsToo) {
  setenv("CUTOUT_DEVICE", "tpu", 1);
  const auto out = parse({});
  EXPECT_TRUE(out.exit_now);
  EXPECT_EQ(out.exit_code, 2);
}

TEST_F(SettingsTest, HelpShowsDefaultsAndEnvironmentNames) {
  const auto out = parse({"--help"});
  EXPECT_TRUE(out.exit_now);
  EXPECT_EQ(out.exit_code, 0);
  for (const char* text : {"8080", "models/default.pt", "PORT", "CUTOUT_MODEL", "CUTOUT_DEVICE",
                           "--max-body-bytes", "33554432", "50000000", "--cors-origin"}) {
    EXPECT_NE(out.output.find(text), std::string::npos) << text;
  }
}

// The decode deadline (issue 14): default, flag, environment twin (the flag wins), range, --help.
TEST_F(SettingsTest, DecodeTimeoutHasADefaultAFlagAndAnEnvironmentTwin) {
  unsetenv("CUTOUT_DECODE_TIMEOUT_MS");
  EXPECT_EQ(parse({}).settings.decode_timeout_ms, 15'000);
  EXPECT_EQ(parse({"--decode-timeout-ms", "250"}).settings.decode_timeout_ms, 250);
  setenv("CUTOUT_DECODE_TIMEOUT_MS", "0", 1);
  EXPECT_EQ(parse({}).settings.decode_timeout_ms, 0);
  EXPECT_EQ(parse({"--decode-timeout-ms", "40"}).settings.decode_timeout_ms, 40);
  setenv("CUTOUT_DECODE_TIMEOUT_MS", "-1", 1);
  EXPECT_EQ(parse({}).exit_code, 2);
  unsetenv("CUTOUT_DECODE_TIMEOUT_MS");
  const auto help = parse({"--help"}).output;
  EXPECT_NE(help.find("--decode-timeout-ms"), std::string::npos);
  EXPECT_NE(help.find("CUTOUT_DECODE_TIMEOUT_MS"), std::string::npos);
}

TEST_F(SettingsTest, ConnectionSettingsHaveDefaultsFlagsEnvironmentAndBounds) {
  const char* env[] = {"CUTOUT_MAX_CONNECTIONS", "CUTOUT_IDLE_TIMEOUT_S", "CUTOUT_HEADER_TIMEOUT_S",
                       "CUTOUT_BODY_TIMEOUT_S"};
  for (const char* name : env) unsetenv(name);
  auto out = parse({});
  EXPECT_EQ(out.settings.max_connections, 512);
  EXPECT_EQ(out.settings.idle_timeout_s, 5);
  EXPECT_EQ(out.settings.header_timeout_s, 10);
  EXPECT_EQ(out.settings.body_timeout_s, 60);
  out = parse({"--max-connections", "64", "--idle-timeout-s", "2", "--header-timeout-s", "3",
               "--body-timeout-s", "30"});
  ASSERT_FALSE(out.exit_now) << out.output;
  EXPECT_EQ(out.settings.max_connections, 64);
  EXPECT_EQ(out.settings.idle_timeout_s, 2);
  EXPECT_EQ(out.settings.header_timeout_s, 3);
  EXPECT_EQ(out.settings.body_timeout_s, 30);
  setenv("CUTOUT_HEADER_TIMEOUT_S", "4", 1);
  setenv("CUTOUT_MAX_CONNECTIONS", "100", 1);
  out = parse({});
  EXPECT_EQ(out.settings.header_timeout_s, 4);
  EXPECT_EQ(out.settings.max_connections, 100);
  for (const char* name : env) unsetenv(name);
  for (const char* bad : {"--max-connections", "--header-timeout-s", "--body-timeout-s", "--idle-timeout-s"}) {
    out = parse({bad, "0"});
    EXPECT_TRUE(out.exit_now) << bad;
    EXPECT_EQ(out.exit_code, 2) << bad;
  }
}

}  // namespace
}  // namespace cutout::config
