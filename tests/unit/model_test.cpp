#include "cutout/engine/model.hpp"

#include <torch/cuda.h>

#include <gtest/gtest.h>

#include "cutout/core/error.hpp"
#include "cutout/engine/device.hpp"
#include "support/fixtures.hpp"

namespace cutout::engine {
namespace {

using cutout::testing::fixture_path;

Model load(const std::string& name, int default_size = 1024) {
  return Model::load(fixture_path(name), torch::kCPU, torch::kFloat, default_size);
}

// A [1,3,32,32] normalised input whose left half is red and right half blue.
torch::Tensor red_left_blue_right(const ModelMetadata& m) {
  auto x = torch::zeros({1, 3, m.input_height, m.input_width});
  const int half = m.input_width / 2;
  for (int c = 0; c < 3; ++c) {
    const float red_value = c == 0 ? 1.f : 0.f;
    const float blue_value = c == 2 ? 1.f : 0.f;
    x.index_put_({0, c, torch::indexing::Slice(), torch::indexing::Slice(0, half)},
                 (red_value - m.mean[c]) / m.std[c]);
    x.index_put_({0, c, torch::indexing::Slice(), torch::indexing::Slice(half)},
                 (blue_value - m.mean[c]) / m.std[c]);
  }
  return x;
}

std::string load_error_type(const std::string& name) {
  try {
    Model m = load(name);
    m.warm_up();
  } catch (const Error& e) {
    return e.type();
  }
  return "loaded";
}

TEST(Model, LoadsAFileWithMetadataAndRunsIt) {
  Model m = load("tiny.pt");
  EXPECT_EQ(m.metadata().name, "tiny-red-vs-blue");
  EXPECT_TRUE(m.metadata().embedded);
  EXPECT_EQ(m.metadata().input_width, 32);
  const auto out = m.forward(red_left_blue_right(m.metadata()));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 1, 32, 32}));
  EXPECT_GT(out[0][0][5][3].item<float>(), 0.95f);   // red: foreground
  EXPECT_LT(out[0][0][5][28].item<float>(), 0.05f);  // blue: background
}

TEST(Model, FilesWithoutMetadataGetInspyrenetDefaultsAtTheGivenSize) {
  Model m = load("no_metadata.pt", 48);
  EXPECT_FALSE(m.metadata().embedded);
  EXPECT_EQ(m.metadata().input_width, 48);
  m.warm_up();
}

TEST(Model, Fp16StoredWeightsAreConvertedAtLoad) {
  Model half = load("tiny_fp16.pt");
  Model full = load("tiny.pt");
  const auto x = red_left_blue_right(full.metadata());
  EXPECT_LT((half.forward(x) - full.forward(x)).abs().max().item<float>(), 2e-3f);
}

TEST(Model, AppliesTheSigmoidWhenTheMetadataSaysLogits) {
  Model logits = load("logits.pt");
  Model probs = load("tiny.pt");
  const auto x = red_left_blue_right(probs.metadata());
  EXPECT_LT((logits.forward(x) - probs.forward(x)).abs().max().item<float>(), 1e-6f);
}

TEST(Model, SelectsTheConfiguredElementOfATupleOutput) {
  Model tuple = load("tuple_output.pt");
  Model probs = load("tiny.pt");
  const auto x = red_left_blue_right(probs.metadata());
  EXPECT_LT((tuple.forward(x) - probs.forward(x)).abs().max().item<float>(), 1e-6f);
}

TEST(Model, BrokenFilesFailWithAClearType) {
  EXPECT_EQ(load_error_type("does_not_exist.pt"), "model_load_failed");
  EXPECT_EQ(load_error_type("truncated.pt"), "model_load_failed");
  EXPECT_EQ(load_error_type("not_torchscript.pt"), "model_load_failed");
  EXPECT_EQ(load_error_type("bad_metadata.pt"), "invalid_metadata");
  EXPECT_EQ(load_error_type("wrong_shape.pt"), "bad_model_output");
}

TEST(Device, AutoPicksCpuWithoutAGpuAndExplicitCudaIsAnError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is present";
  const auto t = choose_compute_target(DeviceSetting::Auto, PrecisionSetting::Auto);
  EXPECT_TRUE(t.device.is_cpu());
  EXPECT_EQ(t.dtype, torch::kFloat);
  try {
    choose_compute_target(DeviceSetting::Cuda, PrecisionSetting::Auto);
    ADD_FAILURE() << "cuda accepted without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "device_unavailable");
  }
}

TEST(Device, Fp16OnCpuIsRefused) {
  try {
    choose_compute_target(DeviceSetting::Cpu, PrecisionSetting::Fp16);
    ADD_FAILURE() << "fp16 on cpu accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "precision_unsupported");
  }
  EXPECT_EQ(choose_compute_target(DeviceSetting::Cpu, PrecisionSetting::Fp32).dtype, torch::kFloat);
}

}  // namespace
}  // namespace cutout::engine
