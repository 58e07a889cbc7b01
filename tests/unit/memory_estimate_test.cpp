#include "cutout/service/memory_estimate.hpp"

#include <gtest/gtest.h>

#include "support/test_images.hpp"

namespace cutout::service {
namespace {

using imaging::ImageFormat;
using imaging::OutputFormat;

RequestShape shape(ImageFormat format, int width, int height, std::uint64_t input_bytes = 1'000'000) {
  return RequestShape{format, input_bytes, width, height, 1024, 1024};
}

RemoveBackgroundOptions rgba(OutputFormat format = OutputFormat::Png) {
  RemoveBackgroundOptions o;
  o.format = format;
  return o;
}

TEST(MemoryEstimate, ShapeComesFromTheHeader) {
  const cv::Mat picture = cutout::testing::make_picture(120, 80);
  for (const auto& [ext, format] : {std::pair<const char*, ImageFormat>{".png", ImageFormat::Png},
                                    {".jpg", ImageFormat::Jpeg}, {".webp", ImageFormat::Webp},
                                    {".bmp", ImageFormat::Bmp}, {".tiff", ImageFormat::Tiff}}) {
    const std::string bytes = cutout::testing::encode_as(picture, ext);
    const auto s = request_shape(bytes, 1'000'000, 320, 320);
    ASSERT_TRUE(s.has_value()) << ext;
    EXPECT_EQ(s->input_format, format) << ext;
    EXPECT_EQ(s->width, 120);
    EXPECT_EQ(s->height, 80);
    EXPECT_EQ(s->input_bytes, bytes.size());
    EXPECT_EQ(s->model_width, 320);
  }
}

TEST(MemoryEstimate, NoShapeForWhatTheDecoderRefusesBeforeAllocating) {
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(120, 80), ".png");
  EXPECT_FALSE(request_shape("hello", 1'000'000, 32, 32).has_value());                // unknown format
  EXPECT_FALSE(request_shape(png.substr(0, 12), 1'000'000, 32, 32).has_value());      // header cut short
  EXPECT_FALSE(request_shape(png, 120 * 80 - 1, 32, 32).has_value());                 // over max_pixels
  EXPECT_TRUE(request_shape(png, 120 * 80, 32, 32).has_value());
}

TEST(MemoryEstimate, GrowsWithPixelsInputBytesAndModelSize) {
  const auto small = estimate_peak_bytes(shape(ImageFormat::Jpeg, 1000, 500), rgba());
  const auto large = estimate_peak_bytes(shape(ImageFormat::Jpeg, 4000, 3000), rgba());
  EXPECT_GT(large, small);
  // The body counts byte for byte.
  const auto more_input = estimate_peak_bytes(shape(ImageFormat::Jpeg, 1000, 500, 9'000'000), rgba());
  EXPECT_EQ(more_input - small, 8'000'000u);
  RequestShape big_model = shape(ImageFormat::Jpeg, 1000, 500);
  big_model.model_width = big_model.model_height = 2048;
  EXPECT_GT(estimate_peak_bytes(big_model, rgba()), small);
}

TEST(MemoryEstimate, OutputsCostWhatTheyHold) {
  const RequestShape s = shape(ImageFormat::Png, 4000, 3000);
  RemoveBackgroundOptions mask;
  mask.output = OutputKind::Mask;
  RemoveBackgroundOptions raw = rgba();
  raw.foreground = imaging::ForegroundColour::Raw;
  RemoveBackgroundOptions flat = rgba(OutputFormat::Jpeg);
  flat.background = imaging::Rgb{255, 255, 255};
  EXPECT_LT(estimate_peak_bytes(s, mask), estimate_peak_bytes(s, raw));
  EXPECT_LT(estimate_peak_bytes(s, raw), estimate_peak_bytes(s, rgba()));  // foreground estimation
  EXPECT_LT(estimate_peak_bytes(s, rgba()), estimate_peak_bytes(s, rgba(OutputFormat::Webp)));
  EXPECT_GT(estimate_peak_bytes(s, flat), estimate_peak_bytes(s, mask));
}

TEST(MemoryEstimate, MaxSideShrinksOnlyTheOutputSide) {
  const RequestShape s = shape(ImageFormat::Jpeg, 8000, 6000);
  RemoveBackgroundOptions shrunk = rgba();
  shrunk.geometry.max_side = 800;
  RemoveBackgroundOptions tiny = rgba();
  tiny.geometry.max_side = 8;
  const auto full = estimate_peak_bytes(s, rgba());
  const auto small = estimate_peak_bytes(s, shrunk);
  EXPECT_LT(small, full);
  EXPECT_GT(small, estimate_peak_bytes(s, tiny));
  // The decoded image and the full-size mask are still held: far more than the input bytes alone.
  EXPECT_GT(estimate_peak_bytes(s, tiny), 8000u * 6000u * 4u);
  // max_side larger than the image changes nothing.
  RemoveBackgroundOptions loose = rgba();
  loose.geometry.max_side = 20000;
  EXPECT_EQ(estimate_peak_bytes(s, loose), full);
}

}  // namespace
}  // namespace cutout::service
