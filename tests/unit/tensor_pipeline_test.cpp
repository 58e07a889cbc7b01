#include "cutout/engine/tensor_pipeline.hpp"

#include "cutout/engine/pil_resize.hpp"

#include <gtest/gtest.h>

namespace cutout::engine {
namespace {

ModelMetadata metadata(int w, int h, ChannelOrder order) {
  ModelMetadata m;
  m.input_width = w;
  m.input_height = h;
  m.channel_order = order;
  m.mean = {0.5f, 0.25f, 0.0f};
  m.std = {0.5f, 0.25f, 1.0f};
  return m;
}

// A [H, W, 3] uint8 BGR image from a list of (b, g, r) pixels in row order.
torch::Tensor bgr_image(int h, int w, std::vector<std::array<int, 3>> pixels) {
  auto t = torch::empty({h, w, 3}, torch::kByte);
  for (int i = 0; i < h * w; ++i) {
    for (int c = 0; c < 3; ++c) t[i / w][i % w][c] = pixels[i][c];
  }
  return t;
}

TEST(TensorPipeline, NormalisesEachChannelAtTheSameSize) {
  // One pixel, B=0 G=51 R=255, RGB model: channel 0 is R.
  const auto x = make_model_input(bgr_image(1, 1, {{0, 51, 255}}),
                                  metadata(1, 1, ChannelOrder::Rgb), torch::kCPU, torch::kFloat);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 3, 1, 1}));
  EXPECT_NEAR(x[0][0][0][0].item<float>(), (1.0f - 0.5f) / 0.5f, 1e-6);      // R
  EXPECT_NEAR(x[0][1][0][0].item<float>(), (0.2f - 0.25f) / 0.25f, 1e-6);    // G = 51/255
  EXPECT_NEAR(x[0][2][0][0].item<float>(), (0.0f - 0.0f) / 1.0f, 1e-6);      // B
}

TEST(TensorPipeline, KeepsBgrOrderForBgrModels) {
  const auto x = make_model_input(bgr_image(1, 1, {{255, 0, 0}}),
                                  metadata(1, 1, ChannelOrder::Bgr), torch::kCPU, torch::kFloat);
  EXPECT_NEAR(x[0][0][0][0].item<float>(), (1.0f - 0.5f) / 0.5f, 1e-6);  // B first
}

TEST(TensorPipeline, ShrinksWithPillowsTriangleFilter) {
  // A 1x4 row of R values [0, 100, 200, 255] shrunk to 1x2. With scale 2 the triangle filter has
  // support 2: output 0 is centred at 1.0 and weighs input centres 0.5, 1.5, 2.5 by
  // 0.75, 0.75, 0.25 (normalised by 1.75): (0*.75 + 100*.75 + 200*.25)/1.75 = 71.43 -> 71.
  // Output 1 (centre 3.0): centres 1.5, 2.5, 3.5 -> (100*.25 + 200*.75 + 255*.75)/1.75 = 209.3 -> 209.
  ModelMetadata m = metadata(2, 1, ChannelOrder::Rgb);
  m.mean = {0, 0, 0};
  m.std = {1, 1, 1};
  const auto x = make_model_input(bgr_image(1, 4, {{0, 0, 0}, {0, 0, 100}, {0, 0, 200}, {0, 0, 255}}),
                                  m, torch::kCPU, torch::kFloat);
  EXPECT_NEAR(x[0][0][0][0].item<float>() * 255, 71, 1e-3);
  EXPECT_NEAR(x[0][0][0][1].item<float>() * 255, 209, 1e-3);
}

TEST(PilResize, CoefficientsAreQuantisedAsPillowDoes) {
  // 4 -> 2: weights 0.75, 0.75, 0.25 over 1.75, in 22-bit fixed point rounded half up:
  // 3/7 * 2^22 = 1797558.86 -> 1797559, 1/7 * 2^22 = 599186.29 -> 599186.
  const auto c = pil_bilinear_coefficients(4, 2);
  EXPECT_EQ(c.taps, 5);  // ceil(support 2) * 2 + 1
  EXPECT_EQ(c.first_tap, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(c.weights[0], 1797559);
  EXPECT_EQ(c.weights[1], 1797559);
  EXPECT_EQ(c.weights[2], 599186);
  EXPECT_EQ(c.weights[3], 0);
  EXPECT_EQ(c.weights[5], 599186);
}

TEST(PilResize, UpscalesAndKeepsConstantsAndSizes) {
  // 2 -> 4 (upscale: support 1): output 1 has centre 0.75: taps 0 and 1 weigh 0.75 and 0.25, so
  // [0, 200] -> (0 * .75 + 200 * .25) = 50; the ends copy the end pixels.
  auto row = torch::tensor({0, 200}, torch::kByte).view({1, 1, 2});
  const auto up = pil_bilinear_resize(row, 1, 4);
  EXPECT_EQ(up[0][0][0].item<int>(), 0);
  EXPECT_EQ(up[0][0][1].item<int>(), 50);
  EXPECT_EQ(up[0][0][2].item<int>(), 150);
  EXPECT_EQ(up[0][0][3].item<int>(), 200);
  const auto flat = torch::full({3, 37, 53}, 77, torch::kByte);
  const auto small = pil_bilinear_resize(flat, 11, 7);
  EXPECT_EQ(small.sizes(), (std::vector<int64_t>{3, 11, 7}));
  EXPECT_EQ(small.min().item<int>(), 77);
  EXPECT_EQ(small.max().item<int>(), 77);
}

TEST(PilResize, CpuLoopsEqualTheTensorOpsVersion) {
  // The CPU path (Pillow's loops) and the tensor-op path (other devices) must agree bit for bit,
  // shrinking and growing, each axis alone and both, odd sizes and strong ratios.
  torch::manual_seed(7);
  const std::vector<std::array<int, 4>> cases{
      {61, 97, 17, 23}, {40, 30, 40, 11}, {40, 30, 9, 30},
      {13, 7, 50, 29},  {300, 400, 32, 32}, {5, 5, 5, 5}};
  for (const auto& [h, w, oh, ow] : cases) {
    const auto image = torch::randint(0, 256, {3, h, w}, torch::kByte);
    const auto loops = pil_bilinear_resize(image, oh, ow);
    const auto ops = pil_bilinear_resize_with_tensor_ops(image, oh, ow);
    ASSERT_EQ(loops.sizes(), ops.sizes());
    EXPECT_TRUE(torch::equal(loops, ops)) << h << "x" << w << " -> " << oh << "x" << ow;
  }
}

TEST(TensorPipeline, ProducesTheRequestedDtype) {
  const auto x = make_model_input(bgr_image(2, 2, {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {1, 1, 1}}),
                                  metadata(4, 4, ChannelOrder::Rgb), torch::kCPU, torch::kDouble);
  EXPECT_EQ(x.scalar_type(), torch::kDouble);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, 3, 4, 4}));
}

TEST(TensorPipeline, MaskGrowsWithAlignedCornersAndTruncates) {
  // 2x2 -> 3x3 with align_corners=True: corners kept, the centre is the mean of the four.
  auto p = torch::tensor({0.0f, 1.0f, 0.5f, 0.25f}).view({1, 1, 2, 2});
  const auto mask = mask_to_image_size(p, 3, 3);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(mask.scalar_type(), torch::kByte);
  EXPECT_EQ(mask[0][0].item<int>(), 0);
  EXPECT_EQ(mask[0][2].item<int>(), 255);
  EXPECT_EQ(mask[2][0].item<int>(), 127);   // 0.5 * 255 = 127.5, truncated
  EXPECT_EQ(mask[2][2].item<int>(), 63);    // 63.75 truncated
  EXPECT_EQ(mask[1][1].item<int>(), 111);   // (0 + 1 + .5 + .25)/4 * 255 = 111.56
  EXPECT_EQ(mask[0][1].item<int>(), 127);   // 0.5 * 255
}

TEST(TensorPipeline, MaskClampsOutOfRangeValues) {
  auto p = torch::tensor({-0.5f, 1.5f}).view({1, 1, 1, 2});
  const auto mask = mask_to_image_size(p, 1, 2);
  EXPECT_EQ(mask[0][0].item<int>(), 0);
  EXPECT_EQ(mask[0][1].item<int>(), 255);
}

}  // namespace
}  // namespace cutout::engine
