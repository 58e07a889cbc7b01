// The CPU resize straight from interleaved BGR rows against the planar Pillow loops (themselves
// held equal to the tensor-op version and, in tests/parity, to Pillow): byte for byte, in both
// channel orders, shrinking and growing, each axis alone and both, odd sizes and strong ratios.

#include <array>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cutout/engine/pil_resize.hpp"
#include "cutout/engine/tensor_pipeline.hpp"

namespace cutout::engine {
namespace {

TEST(PilResizeInterleaved, EqualsThePlanarLoops) {
  torch::manual_seed(21);
  const std::vector<std::array<int, 4>> cases{
      {61, 97, 17, 23},   {40, 30, 40, 11},  {40, 30, 9, 30},     {13, 7, 50, 29},
      {300, 400, 32, 32}, {5, 5, 5, 5},      {1, 1, 3, 4},        {2, 3, 1, 1},
      {3, 2, 320, 320},   {7, 1000, 5, 13},  {999, 3, 17, 2},     {1501, 2003, 320, 320},
      {3000, 4001, 1024, 1024}, {200, 150, 1024, 1024}, {1024, 1024, 1024, 1024}};
  for (const auto& [h, w, oh, ow] : cases) {
    const auto hwc = torch::randint(0, 256, {h, w, 3}, torch::kByte);
    for (const bool rgb : {false, true}) {
      auto planes = hwc.permute({2, 0, 1});
      if (rgb) planes = planes.flip({0});
      const auto reference = pil_bilinear_resize(planes.contiguous(), oh, ow);
      const auto fast = pil_bilinear_resize_interleaved(hwc.data_ptr<std::uint8_t>(), h, w, w * 3,
                                                        rgb, oh, ow);
      ASSERT_EQ(fast.sizes(), reference.sizes());
      EXPECT_TRUE(torch::equal(fast, reference))
          << h << "x" << w << " -> " << oh << "x" << ow << (rgb ? " rgb" : " bgr") << ": "
          << fast.ne(reference).sum().item<std::int64_t>() << " bytes differ";
    }
  }
}

TEST(PilResizeInterleaved, ReadsRowsWithPadding) {
  // A view into a wider image (a cv::Mat ROI): rows further apart than 3 * width.
  torch::manual_seed(22);
  const auto wide = torch::randint(0, 256, {90, 140, 3}, torch::kByte);
  const auto view = wide.narrow(1, 10, 101);
  const auto reference = pil_bilinear_resize(view.permute({2, 0, 1}).contiguous(), 33, 47);
  const auto fast = pil_bilinear_resize_interleaved(view.data_ptr<std::uint8_t>(), 90, 101,
                                                    140 * 3, false, 33, 47);
  EXPECT_TRUE(torch::equal(fast, reference));
}

TEST(PilResizeInterleaved, ModelInputIsUnchangedForBothChannelOrders) {
  // make_model_input's CPU path (interleaved) against the old one: permute, flip, planar loops.
  torch::manual_seed(23);
  const auto hwc = torch::randint(0, 256, {301, 457, 3}, torch::kByte);
  for (const auto order : {ChannelOrder::Rgb, ChannelOrder::Bgr}) {
    ModelMetadata m;
    m.input_width = 64;
    m.input_height = 48;
    m.channel_order = order;
    m.mean = {0.485f, 0.456f, 0.406f};
    m.std = {0.229f, 0.224f, 0.225f};
    const auto x = make_model_input(hwc, m, torch::kCPU, torch::kFloat);
    auto planes = hwc.permute({2, 0, 1});
    if (order == ChannelOrder::Rgb) planes = planes.flip({0});
    const auto resized = pil_bilinear_resize(planes.contiguous(), 48, 64).unsqueeze(0).to(torch::kFloat);
    for (int c = 0; c < 3; ++c) {
      const float scale = 1.0f / (255.0f * m.std[c]), shift = -m.mean[c] / m.std[c];
      const auto expected = resized.select(1, c) * scale + shift;
      EXPECT_TRUE(torch::equal(x.select(1, c), expected)) << "channel " << c;
    }
  }
}

}  // namespace
}  // namespace cutout::engine
