// The CPU mask pass (engine/mask_upsample) against LibTorch's own interpolate + x255 + truncate,
// byte for byte: grown, shrunk, each axis alone, odd sizes, a model-size map to a photo's size,
// values outside [0, 1] and values on the 1/255 steps where truncation is most sensitive.

#include <array>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cutout/engine/tensor_pipeline.hpp"

namespace cutout::engine {
namespace {

std::string describe(const torch::Tensor& a, const torch::Tensor& b) {
  const auto differ = a.ne(b);
  std::ostringstream s;
  s << differ.sum().item<std::int64_t>() << " bytes differ";
  if (differ.any().item<bool>()) {
    const auto at = differ.nonzero()[0];
    const auto y = at[0].item<std::int64_t>(), x = at[1].item<std::int64_t>();
    s << ", first at (" << y << ", " << x << "): " << a[y][x].item<int>() << " vs "
      << b[y][x].item<int>();
  }
  return s.str();
}

void expect_same_as_torch(const torch::Tensor& p, int height, int width) {
  const auto fast = mask_to_image_size(p, height, width);
  const auto reference = mask_to_image_size_with_torch(p, height, width);
  ASSERT_EQ(fast.sizes(), reference.sizes());
  ASSERT_EQ(fast.scalar_type(), torch::kByte);
  EXPECT_TRUE(torch::equal(fast, reference))
      << p.size(2) << "x" << p.size(3) << " -> " << height << "x" << width << ": "
      << describe(fast, reference);
}

TEST(MaskUpsample, EqualsTorchOnManySizesAndScales) {
  torch::manual_seed(11);
  const std::vector<std::array<int, 4>> cases{
      {32, 48, 301, 457}, {64, 64, 1000, 777}, {40, 30, 17, 23},  {320, 320, 320, 999},
      {320, 320, 999, 320}, {7, 5, 1, 1},     {2, 2, 3, 3},      {100, 100, 1, 50},
      {1, 9, 13, 31},     {9, 1, 31, 13},     {1, 1, 5, 7},      {13, 17, 13, 17},
      {320, 320, 1499, 2001}, {1024, 1024, 601, 803}, {257, 129, 4001, 3}};
  for (const auto& [h, w, oh, ow] : cases) {
    expect_same_as_torch(torch::rand({1, 1, h, w}), oh, ow);
  }
}

TEST(MaskUpsample, EqualsTorchAtAPhotosSize) {
  // The production shape: a 1024 map back to a 12 MP photo, odd width.
  torch::manual_seed(12);
  expect_same_as_torch(torch::rand({1, 1, 1024, 1024}), 3000, 4001);
}

TEST(MaskUpsample, EqualsTorchOutsideTheUnitRangeAndOnTruncationSteps) {
  torch::manual_seed(13);
  // Out of range: clamps. Exact steps k / 255 and their float neighbours: truncation edges.
  expect_same_as_torch(torch::rand({1, 1, 50, 70}) * 2.0 - 0.5, 333, 517);
  auto steps = torch::randint(0, 256, {1, 1, 60, 45}).to(torch::kFloat) / 255.0f;
  expect_same_as_torch(steps, 60, 45);
  expect_same_as_torch(steps, 419, 211);
  expect_same_as_torch(torch::nextafter(steps, torch::ones_like(steps)), 419, 211);
  expect_same_as_torch(torch::nextafter(steps, torch::zeros_like(steps)), 419, 211);
  // A saturated matte (the common case: most pixels 0 or 1).
  expect_same_as_torch((torch::rand({1, 1, 80, 80}) > 0.5).to(torch::kFloat), 803, 611);
}

TEST(MaskUpsample, AcceptsHalfAndNonContiguousMaps) {
  torch::manual_seed(14);
  expect_same_as_torch(torch::rand({1, 1, 40, 60}).to(torch::kHalf), 97, 131);
  expect_same_as_torch(torch::rand({1, 1, 60, 40}).transpose(2, 3), 97, 131);
}

}  // namespace
}  // namespace cutout::engine
