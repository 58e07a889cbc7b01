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
                                         "CUTOUT_METRICS_HOST", "CUTOUT_METRICS_PUBLIC"};
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
