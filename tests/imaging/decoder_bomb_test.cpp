// Decoder bombs (issue 14): files whose headers make a decoder allocate or work far beyond what
// their pixels need, made by tests/imaging/bombs/make_decoder_bombs.py at build time, and the
// decode deadline, which stops the JPEG decoder mid-decode and every other one when it returns.

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "cutout/core/error.hpp"
#include "cutout/imaging/decode.hpp"
#include "imaging/decode_limits.hpp"
#include "support/silenced_stderr.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using namespace std::chrono_literals;

std::string bomb(const std::string& name) {
  std::ifstream in(std::string(CUTOUT_DECODER_BOMBS_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Error decode_error(std::string_view bytes, DecodeLimits limits = kLimits) {
  try {
    decode_image(bytes, limits);
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "decode_image did not throw";
  return Error(ErrorKind::Internal, "none", "");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// --- TIFF: the tile or strip is a buffer of its own, held to the pixel limit ---------------------

TEST(DecoderBomb, TiffTileFarBeyondTheImageIsRefusedFromTheHeader) {
  // 1 MB, 16x16, one 32768x32752 tile: OpenCV allocated 4.1 GB and spent 23 s before its 400.
  const Error error = decode_error(bomb("tiff_tile_32768x32752.tif"));
  EXPECT_EQ(error.kind(), ErrorKind::PayloadTooLarge);
  EXPECT_EQ(error.type(), "image_too_large");
  EXPECT_TRUE(contains(error.what(), "tiles are 32768x32752")) << error.what();
}

TEST(DecoderBomb, TiffTileOverThePixelLimitIsRefusedEvenWhenOpenCVWouldDecodeIt) {
  // One 8192x8192 tile (67 MP > 50 MP) for 16x16 pixels was answered 200.
  const Error error = decode_error(bomb("tiff_tile_8192.tif"));
  EXPECT_EQ(error.type(), "image_too_large");
  EXPECT_TRUE(contains(error.what(), "8192x8192 (67108864 pixels)")) << error.what();
  // The limit is the pixel limit: a server configured for larger images decodes it.
  EXPECT_EQ(decode_image(bomb("tiff_tile_8192.tif"), DecodeLimits{70'000'000}).bgr.size(),
            cv::Size(16, 16));
}

TEST(DecoderBomb, OrdinaryTiledTiffsStillDecode) {
  // 48x32 in six 16x16 tiles, and 16x16 in one 32x32 tile (a tile may overhang the image).
  const DecodedImage tiled = decode_image(bomb("tiff_tiles_ok.tif"), kLimits);
  ASSERT_EQ(tiled.bgr.size(), cv::Size(48, 32));
  EXPECT_EQ(tiled.bgr.at<cv::Vec3b>(31, 47), cv::Vec3b::all((47 * 7 + 31 * 3) % 256));
  const DecodedImage padded = decode_image(bomb("tiff_tile_pad_ok.tif"), kLimits);
  ASSERT_EQ(padded.bgr.size(), cv::Size(16, 16));
  EXPECT_EQ(padded.bgr.at<cv::Vec3b>(15, 15), cv::Vec3b::all((15 * 7 + 15 * 3) % 256));
}

TEST(DecoderBomb, TiffWithHalfATileSizeIsMalformed) {
  const Error error = decode_error(bomb("tiff_tile_no_length.tif"));
  EXPECT_EQ(error.type(), "invalid_image");
  EXPECT_TRUE(contains(error.what(), "tile size")) << error.what();
}

TEST(DecoderBomb, TiffStripRowsAreClampedToTheImageAsLibtiffDoes) {
  // RowsPerStrip 2^32-1 is the TIFF way of saying "one strip": not a bomb, it decodes.
  const DecodedImage image = decode_image(bomb("tiff_strip_rows_huge.tif"), kLimits);
  ASSERT_EQ(image.bgr.size(), cv::Size(16, 16));
  EXPECT_EQ(image.bgr.at<cv::Vec3b>(3, 5), cv::Vec3b::all(5 * 7 + 3 * 3));
  // So a strip is at most ImageWidth x ImageLength, which the image's own check already bounds.
}

// --- JPEG: scans and truncation stop the decoder at once ------------------------------------------

TEST(DecoderBomb, RepeatedScanHeadersWithNoDataStopAtTheFirst) {
  // 20,000 copies of the first scan header and no data: ~2.5 ms each, 50 s, before.
  testing::SilencedStderr quiet;
  const auto start = std::chrono::steady_clock::now();
  const Error error = decode_error(bomb("jpeg_scan_headers.jpg"));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(error.type(), "invalid_image");
  EXPECT_TRUE(contains(error.what(), "premature end of data segment")) << error.what();
  EXPECT_LT(took, 5s);  // a guard against hanging; it takes milliseconds
}

TEST(DecoderBomb, RepeatedWholeScansStopAtTheScanLimitWhileDecoding) {
  // Each repeat is a valid DC first scan, so no warning stops it: only the scan limit does.
  const Error error = decode_error(bomb("jpeg_scans_repeated.jpg"));
  EXPECT_EQ(error.type(), "invalid_image");
  EXPECT_TRUE(contains(error.what(), "more than 500 scans")) << error.what();
}

TEST(DecoderBomb, TruncatedFiftyMegapixelHeadersFailAtTheFirstMissingByte) {
  // 629 bytes (245 progressive) announcing 8000x6250: refused at the first warning, before any
  // row beyond the first batch is written (the output buffer is calloc'ed, so untouched rows cost
  // no memory; tests/imaging/bombs/measure.py measures the peak).
  for (const char* name : {"jpeg_truncated_50mp.jpg", "jpeg_truncated_50mp_progressive.jpg"}) {
    const Error error = decode_error(bomb(name));
    EXPECT_EQ(error.type(), "invalid_image") << name;
    EXPECT_TRUE(contains(error.what(), "truncated or corrupt")) << name << ": " << error.what();
  }
}

// --- the decode deadline --------------------------------------------------------------------------

std::string encode_with(const cv::Mat& image, const std::string& extension, std::vector<int> params) {
  std::vector<std::uint8_t> buffer;
  EXPECT_TRUE(cv::imencode(extension, image, buffer, params));
  return std::string(buffer.begin(), buffer.end());
}

TEST(DecodeDeadline, StopsABaselineJpegBetweenRows) {
  const std::string jpeg = encode_with(testing::make_picture(4000, 3000), ".jpg", {});
  const Error error = decode_error(jpeg, DecodeLimits{50'000'000, 1ms});
  EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
  EXPECT_EQ(error.type(), "decode_timeout");
  EXPECT_TRUE(contains(error.what(), "1 ms limit")) << error.what();
  EXPECT_TRUE(contains(error.what(), "jpeg rows")) << error.what();
}

TEST(DecodeDeadline, StopsAProgressiveJpegWhileItReadsTheScans) {
  const std::string jpeg =
      encode_with(testing::make_picture(4000, 3000), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const Error error = decode_error(jpeg, DecodeLimits{50'000'000, 1ms});
  EXPECT_EQ(error.type(), "decode_timeout");
  EXPECT_TRUE(contains(error.what(), "jpeg scans")) << error.what();
}

TEST(DecodeDeadline, IsCheckedWhenAnOpenCVDecoderReturns) {
  const std::string png = encode_with(testing::make_picture(2000, 2000), ".png", {});
  const Error error = decode_error(png, DecodeLimits{50'000'000, 1ms});
  EXPECT_EQ(error.type(), "decode_timeout");
  EXPECT_TRUE(contains(error.what(), "after the png decode")) << error.what();
}

TEST(DecodeDeadline, ZeroMeansNoneAndAGenerousOneChangesNothing) {
  const cv::Mat picture = testing::make_picture(640, 480);
  const std::string jpeg = encode_with(picture, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const DecodedImage none = decode_image(jpeg, DecodeLimits{50'000'000, 0ms});
  const DecodedImage generous = decode_image(jpeg, DecodeLimits{50'000'000, 60s});
  EXPECT_EQ(cv::norm(none.bgr, generous.bgr, cv::NORM_INF), 0);
  EXPECT_EQ(none.bgr.size(), picture.size());
}

}  // namespace
}  // namespace cutout::imaging
