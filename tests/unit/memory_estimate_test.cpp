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
  RemoveBackgroundOptions raw_webp = rgba(OutputFormat::Webp);
  raw_webp.foreground = imaging::ForegroundColour::Raw;
  RemoveBackgroundOptions flat = rgba(OutputFormat::Jpeg);
  flat.background = imaging::Rgb{255, 255, 255};
  EXPECT_LE(estimate_peak_bytes(s, mask), estimate_peak_bytes(s, raw));
  EXPECT_LT(estimate_peak_bytes(s, raw), estimate_peak_bytes(s, raw_webp));     // WebP's ARGB and YUV copies
  EXPECT_LT(estimate_peak_bytes(s, raw_webp), estimate_peak_bytes(s, rgba()));  // foreground estimation
  // Foreground estimation frees its planes before any encoder starts: the larger stage counts.
  EXPECT_EQ(estimate_peak_bytes(s, rgba(OutputFormat::Webp)), estimate_peak_bytes(s, rgba()));
  EXPECT_EQ(estimate_peak_bytes(s, flat), estimate_peak_bytes(s, rgba()));
}

// Peaks measured by bench/memory/request_peak.py (bench/results/request-peak-cpu.json: one request
// in a fresh process, the rise of VmHWM, model input 1024): the estimate is never below them, and
// not far above at 12 MP and more (where a budget is decided).
TEST(MemoryEstimate, CoversTheMeasuredPeaks) {
  struct Measured {
    ImageFormat format;
    int width, height;
    std::uint64_t input_bytes;
    OutputKind output;
    OutputFormat out_format;
    bool estimate;
    std::uint64_t peak_bytes;
  };
  const Measured cases[] = {
      {ImageFormat::Jpeg, 9424, 5304, 6'412'837, OutputKind::Rgba, OutputFormat::Png, true, 3'994'959'872},
      {ImageFormat::Jpeg, 9424, 5304, 6'412'837, OutputKind::Rgba, OutputFormat::Png, false, 634'208'256},
      {ImageFormat::Png, 9424, 5304, 94'938'992, OutputKind::Mask, OutputFormat::Png, false, 730'828'800},
      {ImageFormat::Png, 4608, 2592, 27'376'062, OutputKind::Rgba, OutputFormat::Png, true, 1'024'253'952},
      {ImageFormat::Tiff, 4608, 2592, 29'563'098, OutputKind::Rgba, OutputFormat::Png, true, 1'002'975'232},
      {ImageFormat::Bmp, 4608, 2592, 35'831'862, OutputKind::Mask, OutputFormat::Png, false, 207'224'832},
      {ImageFormat::Jpeg, 4608, 2592, 1'540'754, OutputKind::Rgba, OutputFormat::Webp, false, 402'685'952},
  };
  for (const Measured& m : cases) {
    RemoveBackgroundOptions o;
    o.output = m.output;
    o.format = m.out_format;
    o.foreground = m.estimate ? imaging::ForegroundColour::Estimate : imaging::ForegroundColour::Raw;
    const auto estimate = estimate_peak_bytes(shape(m.format, m.width, m.height, m.input_bytes), o);
    EXPECT_GE(estimate, m.peak_bytes) << imaging::to_string(m.format) << " " << m.width << "x" << m.height;
    EXPECT_LE(estimate, m.peak_bytes * 1.2) << imaging::to_string(m.format) << " " << m.width << "x" << m.height;
  }
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
