// The golden probe and the warm-up's self-test: the probe's bytes (same as models/golden.py's),
// cutout_golden.json's parsing, the comparison and its reasons, the loader's verdicts, and the
// FP32 islands that cutout.json's fp32_modules keeps out of the precision conversion.

#include <cmath>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"
#include "cutout/engine/golden.hpp"
#include "cutout/engine/model.hpp"
#include "cutout/engine/model_metadata.hpp"
#include "cutout/engine/probe.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/readiness.hpp"
#include "support/fixtures.hpp"

namespace cutout {
namespace {

using cutout::testing::fixture_path;
using engine::Golden;
using nlohmann::json;
using service::LoadPlan;
using service::ModelLoader;
using service::Phase;
using service::Readiness;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Probe, SameBytesAsPython) {
  for (const auto& [w, h] : {std::pair{32, 32}, std::pair{37, 23}, std::pair{320, 240}}) {
    const std::string python = read_file(fixture_path("probe_" + std::to_string(w) + "x" + std::to_string(h) + ".rgb"));
    const std::vector<std::uint8_t> cpp = engine::probe_rgb(w, h);
    ASSERT_EQ(python.size(), cpp.size()) << w << "x" << h;
    EXPECT_TRUE(std::equal(cpp.begin(), cpp.end(), reinterpret_cast<const std::uint8_t*>(python.data())))
        << w << "x" << h;
  }
}

TEST(Probe, LooksLikeAPictureNotANoiseField) {
  // The subject (centre) is warm, the sky (top left corner) blue: the model sees a scene.
  const auto rgb = engine::probe_rgb(100, 100);
  const auto at = [&](int x, int y, int c) { return rgb[(y * 100 + x) * 3 + c]; };
  EXPECT_GT(at(50, 65, 0), at(50, 65, 2) + 60);
  EXPECT_GT(at(3, 3, 2), at(3, 3, 0) + 40);
}

json valid_golden() {
  return json{{"format", 1}, {"probe", engine::kProbeName}, {"precision", "float32"},
              {"output_size", {4, 4}}, {"grid", {2, 2}}, {"values", {0.1, 0.2, 0.3, 0.4}},
              {"min", 0.0}, {"max", 0.5}, {"mean", 0.25}};
}

std::string golden_error(const json& doc) {
  try {
    engine::parse_golden(doc.dump());
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "invalid_metadata");
    return e.what();
  }
  return "parsed";
}

TEST(GoldenParse, ReadsAValidDocument) {
  const Golden g = engine::parse_golden(valid_golden().dump());
  EXPECT_EQ(g.grid_height, 2);
  EXPECT_EQ(g.output_width, 4);
  ASSERT_EQ(g.values.size(), 4u);
  EXPECT_FLOAT_EQ(g.values[3], 0.4f);
  EXPECT_FLOAT_EQ(g.mean, 0.25f);
}

TEST(GoldenParse, RefusesWhatItCannotCompare) {
  json d = valid_golden();
  d["probe"] = "cutout-probe-2";
  EXPECT_NE(golden_error(d).find("probe"), std::string::npos);
  d = valid_golden();
  d["values"] = {0.1, 0.2, 0.3};
  EXPECT_NE(golden_error(d).find("values"), std::string::npos);
  d = valid_golden();
  d["grid"] = {8, 2};
  EXPECT_NE(golden_error(d).find("grid"), std::string::npos);
  d = valid_golden();
  d["grid"] = {65, 65};
  d["output_size"] = {100, 100};
  EXPECT_NE(golden_error(d).find("grid"), std::string::npos);
  d = valid_golden();
  d["values"][0] = 1e300;
  EXPECT_NE(golden_error(d).find("values"), std::string::npos);
  d = valid_golden();
  d.erase("mean");
  EXPECT_NE(golden_error(d).find("mean"), std::string::npos);
  EXPECT_NE(golden_error(json::array()).find("not a JSON object"), std::string::npos);
}

TEST(GoldenCompare, PassesWithinToleranceAndSaysWhatToDoOtherwise) {
  const Golden g = engine::parse_golden(valid_golden().dump());
  const auto exact = torch::tensor({0.1f, 0.1f, 0.2f, 0.2f, 0.1f, 0.1f, 0.2f, 0.2f,
                                    0.3f, 0.3f, 0.4f, 0.4f, 0.3f, 0.3f, 0.4f, 0.4f}).view({1, 1, 4, 4});
  auto r = engine::compare_with_golden(exact, g, torch::kFloat, "cpu");
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_LT(r.max_difference, 1e-6);
  EXPECT_DOUBLE_EQ(r.tolerance, engine::self_test_tolerance(torch::kFloat));

  r = engine::compare_with_golden(exact + 0.02, g, torch::kHalf, "cuda:0");
  EXPECT_TRUE(r.passed) << "0.02 is within FP16's tolerance: " << r.reason;
  r = engine::compare_with_golden(exact + 0.2, g, torch::kHalf, "cuda:0");
  EXPECT_FALSE(r.passed);
  EXPECT_NEAR(r.max_difference, 0.2, 1e-6);
  EXPECT_NE(r.reason.find("at fp16 on cuda:0"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("by 0.2000"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("--precision fp32 avoids it"), std::string::npos) << r.reason;

  r = engine::compare_with_golden(exact + 0.02, g, torch::kFloat, "cpu");
  EXPECT_FALSE(r.passed) << "0.02 is beyond FP32's tolerance";
  EXPECT_NE(r.reason.find("re-export the file"), std::string::npos) << r.reason;

  auto inf = exact.clone();
  inf[0][0][1][2] = std::numeric_limits<float>::infinity();
  r = engine::compare_with_golden(inf, g, torch::kHalf, "cuda:0");
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(std::isnan(r.max_difference));
  EXPECT_NE(r.reason.find("NaN or Inf in 1 of 16"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("--precision fp32"), std::string::npos) << r.reason;

  r = engine::compare_with_golden(torch::zeros({1, 1, 4, 5}), g, torch::kFloat, "cpu");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.reason.find("4x5"), std::string::npos) << r.reason;
}

// The whole start-up on the CPU, as the server runs it.
struct Start {
  Readiness readiness;
  ModelLoader loader;
  explicit Start(const std::string& model, int warmup_runs = 1)
      : loader(readiness, LoadPlan{fixture_path(model), DeviceSetting::Cpu, PrecisionSetting::Auto, 32,
                                   warmup_runs}) {
    loader.load();
  }
};

TEST(SelfTest, FilesWithTheirGoldenPass) {
  for (const char* model : {"golden_tiny.pt", "golden_bgr_16.pt", "golden_logits.pt", "fp32_island.pt"}) {
    Start s(model);
    ASSERT_EQ(s.readiness.phase(), Phase::Ready) << model << ": " << s.readiness.failure_reason();
    const auto t = s.loader.info().self_test;
    EXPECT_EQ(t.status, "passed") << model;
    EXPECT_LT(t.max_difference, 1e-5) << model;
    EXPECT_GT(t.ms, 0.0) << model;
  }
}

TEST(SelfTest, AWrongGoldenFailsTheStartWithTheDesignedReason) {
  Start s("golden_wrong.pt");
  ASSERT_EQ(s.readiness.phase(), Phase::Failed);
  const std::string why = s.readiness.failure_reason();
  EXPECT_NE(why.find("self-test failed at fp32 on cpu"), std::string::npos) << why;
  EXPECT_NE(why.find("differs from the file's FP32 reference by 0.3"), std::string::npos) << why;
  EXPECT_NE(why.find("re-export the file"), std::string::npos) << why;
}

TEST(SelfTest, AChannelOrderThatDisagreesWithTheGoldenFails) {
  Start s("golden_channel_swap.pt");
  ASSERT_EQ(s.readiness.phase(), Phase::Failed);
  EXPECT_NE(s.readiness.failure_reason().find("differs from the file's FP32 reference"), std::string::npos)
      << s.readiness.failure_reason();
}

TEST(SelfTest, ANanInTheAnswerFailsTheStart) {
  Start s("golden_nan.pt");
  ASSERT_EQ(s.readiness.phase(), Phase::Failed);
  const std::string why = s.readiness.failure_reason();
  EXPECT_NE(why.find("NaN or Inf in 1 of 1024 values"), std::string::npos) << why;
}

TEST(SelfTest, FilesWithoutAGoldenStartAsBeforeAndSaySkipped) {
  Start s("tiny.pt");
  ASSERT_EQ(s.readiness.phase(), Phase::Ready) << s.readiness.failure_reason();
  const auto t = s.loader.info().self_test;
  EXPECT_EQ(t.status, "skipped");
  EXPECT_NE(t.why.find("no golden"), std::string::npos) << t.why;
}

TEST(SelfTest, NoWarmUpPassMeansNoSelfTest) {
  Start s("golden_wrong.pt", /*warmup_runs=*/0);
  ASSERT_EQ(s.readiness.phase(), Phase::Ready) << s.readiness.failure_reason();
  EXPECT_EQ(s.loader.info().self_test.status, "skipped");
  EXPECT_NE(s.loader.info().self_test.why.find("--warmup-runs 0"), std::string::npos);
}

TEST(SelfTest, OnlyTheFirstWarmUpPassRunsTheProbe) {
  Start s("golden_tiny.pt", /*warmup_runs=*/3);
  ASSERT_EQ(s.readiness.phase(), Phase::Ready) << s.readiness.failure_reason();
  EXPECT_EQ(s.loader.info().self_test.status, "passed");
}

// The precision conversion respects the file: at fp16 the island's weights stay float32, so its
// float32 convolution runs even on the CPU (LibTorch has no half convolution there), and the
// answer comes back in the run dtype.
TEST(Fp32Modules, StayFloat32WhenTheModelRunsInHalf) {
  engine::Model m = engine::Model::load(fixture_path("fp32_island.pt"), torch::kCPU, torch::kHalf, 32);
  ASSERT_EQ(m.metadata().fp32_modules, std::vector<std::string>{"head.inner"});
  const auto out = m.forward(torch::zeros({1, 3, 32, 32}, torch::kHalf));
  EXPECT_EQ(out.scalar_type(), torch::kHalf);
  const auto r = m.self_test();
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_LT(r.max_difference, engine::self_test_tolerance(torch::kHalf));
  // Without the island the same graph at fp16 fails on the CPU: the metadata is what made it work.
  engine::Model plain = engine::Model::load(fixture_path("golden_tiny.pt"), torch::kCPU, torch::kHalf, 32);
  EXPECT_ANY_THROW(plain.forward(torch::zeros({1, 3, 32, 32}, torch::kHalf)));
}

TEST(Fp32Modules, AnUnknownModuleIsRefusedAtLoad) {
  try {
    engine::Model::load(fixture_path("fp32_island_missing.pt"), torch::kCPU, torch::kFloat, 32);
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "invalid_metadata");
    EXPECT_NE(std::string(e.what()).find("head.nothing"), std::string::npos) << e.what();
  }
}

TEST(Fp32Modules, ParsedAndBounded) {
  json meta = json::parse(R"({"format":1,"input":{"width":8,"height":8,"channel_order":"RGB",
    "mean":[0,0,0],"std":[1,1,1]},"output":{"index":0,"activation":"none"}})");
  EXPECT_TRUE(engine::parse_model_metadata(meta.dump()).fp32_modules.empty());
  meta["fp32_modules"] = {"a.b", "c"};
  EXPECT_EQ(engine::parse_model_metadata(meta.dump()).fp32_modules, (std::vector<std::string>{"a.b", "c"}));
  for (const json& bad : {json("a"), json::array({1}), json::array({""})}) {
    meta["fp32_modules"] = bad;
    EXPECT_THROW(engine::parse_model_metadata(meta.dump()), Error) << bad.dump();
  }
}

}  // namespace
}  // namespace cutout
