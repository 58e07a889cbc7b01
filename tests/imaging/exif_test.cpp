#include "cutout/imaging/exif.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "imaging/prefixes.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using namespace std::string_literals;
using testing::jpeg_with_orientation;
using testing::make_picture;
using testing::png_with_orientation;
using testing::webp_with_orientation;

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// Stored as   1 2 3      each orientation below is how a viewer shows it, worked out by hand
//             4 5 6      from the EXIF definitions (row 0 / column 0 placement).
TEST(ApplyExifOrientation, EachOfTheEightOrientations) {
  const cv::Mat stored = (cv::Mat_<std::uint8_t>(2, 3) << 1, 2, 3, 4, 5, 6);
  const std::vector<cv::Mat> expected = {
      (cv::Mat_<std::uint8_t>(2, 3) << 1, 2, 3, 4, 5, 6),  // 1: as stored
      (cv::Mat_<std::uint8_t>(2, 3) << 3, 2, 1, 6, 5, 4),  // 2: mirrored left-right
      (cv::Mat_<std::uint8_t>(2, 3) << 6, 5, 4, 3, 2, 1),  // 3: rotated 180
      (cv::Mat_<std::uint8_t>(2, 3) << 4, 5, 6, 1, 2, 3),  // 4: mirrored top-bottom
      (cv::Mat_<std::uint8_t>(3, 2) << 1, 4, 2, 5, 3, 6),  // 5: transposed
      (cv::Mat_<std::uint8_t>(3, 2) << 4, 1, 5, 2, 6, 3),  // 6: rotated 90 clockwise
      (cv::Mat_<std::uint8_t>(3, 2) << 6, 3, 5, 2, 4, 1),  // 7: transversed
      (cv::Mat_<std::uint8_t>(3, 2) << 3, 6, 2, 5, 1, 4),  // 8: rotated 90 counter-clockwise
  };
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const cv::Mat shown = apply_exif_orientation(stored, orientation);
    EXPECT_TRUE(same(shown, expected[orientation - 1])) << "orientation " << orientation << ":\n"
                                                        << shown;
  }
}

TEST(ApplyExifOrientation, OutOfRangeValuesLeaveTheImageAlone) {
  const cv::Mat picture = make_picture(5, 3);
  EXPECT_TRUE(same(apply_exif_orientation(picture, 0), picture));
  EXPECT_TRUE(same(apply_exif_orientation(picture, 9), picture));
  EXPECT_EQ(apply_exif_orientation(picture, 6).size(), cv::Size(3, 5));
}

TEST(ReadExifOrientation, JpegPngAndWebpInBothByteOrders) {
  const cv::Mat picture = make_picture(16, 8);
  for (const bool big_endian : {true, false}) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      EXPECT_EQ(read_exif_orientation(jpeg_with_orientation(picture, orientation, big_endian)),
                orientation);
      EXPECT_EQ(read_exif_orientation(png_with_orientation(picture, orientation, big_endian)),
                orientation);
      EXPECT_EQ(read_exif_orientation(webp_with_orientation(picture, orientation, big_endian)),
                orientation);
    }
  }
}

TEST(ReadExifOrientation, OneWhenAbsentOrOutOfRange) {
  const cv::Mat picture = make_picture(16, 8);
  EXPECT_EQ(read_exif_orientation(testing::encode_as(picture, ".jpg")), 1);
  EXPECT_EQ(read_exif_orientation(testing::encode_as(picture, ".png")), 1);
  EXPECT_EQ(read_exif_orientation(testing::encode_as(picture, ".webp")), 1);
  EXPECT_EQ(read_exif_orientation(testing::encode_as(picture, ".tiff")), 1);
  EXPECT_EQ(read_exif_orientation(""), 1);
  EXPECT_EQ(read_exif_orientation(jpeg_with_orientation(picture, 0)), 1);
  EXPECT_EQ(read_exif_orientation(jpeg_with_orientation(picture, 9)), 1);
  EXPECT_EQ(read_exif_orientation(png_with_orientation(picture, 200, false)), 1);
}

TEST(ReadExifOrientation, SkipsXmpBeforeExif) {
  std::string jpeg = jpeg_with_orientation(make_picture(16, 8), 6);
  const std::string xmp = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"s;
  const std::string segment =
      "\xFF\xE1"s + static_cast<char>(0) + static_cast<char>(xmp.size() + 2) + xmp;
  jpeg.insert(2, segment);
  EXPECT_EQ(read_exif_orientation(jpeg), 6);
}

TEST(ReadExifOrientation, GarbledBlocksReadAsOne) {
  const std::string good = jpeg_with_orientation(make_picture(16, 8), 6, true);
  // Layout: SOI (2), FF E1 (2), length (2), "Exif\0\0" (6), then the TIFF header from offset 12.
  std::string bad_ifd = good;
  bad_ifd.replace(12 + 4, 4, "\x7F\xFF\xFF\xFF"s);  // IFD0 offset far past the block
  EXPECT_EQ(read_exif_orientation(bad_ifd), 1);
  std::string many_entries = good;
  many_entries.replace(12 + 8, 2, "\xFF\xFF"s);   // 65535 entries claimed, one present,
  many_entries.replace(12 + 10, 2, "\x01\x10"s);  // and that one is not Orientation
  EXPECT_EQ(read_exif_orientation(many_entries), 1);
  std::string bad_order = good;
  bad_order.replace(12, 2, "XX");
  EXPECT_EQ(read_exif_orientation(bad_order), 1);
  std::string long_segment = good;
  long_segment.replace(4, 2, "\xFF\xF0"s);  // APP1 longer than the file
  EXPECT_EQ(read_exif_orientation(long_segment), 1);
}

// Every prefix reads as 1 (block incomplete) or as the stored value, and never past the end.
TEST(ReadExifOrientation, EveryPrefixGivesOneOrTheTrueValue) {
  const cv::Mat picture = make_picture(8, 4);
  for (const bool big_endian : {true, false}) {
    for (const std::string& file : {jpeg_with_orientation(picture, 7, big_endian),
                                    png_with_orientation(picture, 7, big_endian),
                                    webp_with_orientation(picture, 7, big_endian)}) {
      testing::for_each_prefix(file, [&](std::string_view prefix, std::size_t length) {
        const int orientation = read_exif_orientation(prefix);
        EXPECT_TRUE(orientation == 1 || orientation == 7) << "prefix " << length;
      });
      EXPECT_EQ(read_exif_orientation(file), 7);
    }
  }
}

}  // namespace
}  // namespace cutout::imaging
