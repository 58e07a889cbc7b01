#include "cutout/imaging/image_format.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imaging/prefixes.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using namespace std::string_literals;
using testing::encode_as;
using testing::make_picture;

std::string u16(std::uint32_t v, bool big) {
  const char hi = static_cast<char>((v >> 8) & 0xFF), lo = static_cast<char>(v & 0xFF);
  return big ? std::string{hi, lo} : std::string{lo, hi};
}
std::string u32(std::uint32_t v, bool big) {
  return big ? u16(v >> 16, true) + u16(v & 0xFFFF, true)
             : u16(v & 0xFFFF, false) + u16(v >> 16, false);
}

// A PNG made of the signature and an IHDR chunk only (CRC left zero: only the header is read).
std::string png_header(std::uint32_t width, std::uint32_t height) {
  return "\x89PNG\r\n\x1A\n"s + u32(13, true) + "IHDR" + u32(width, true) + u32(height, true) +
         "\x08\x06\x00\x00\x00"s + u32(0, true);
}

// A TIFF whose IFD0 has ImageWidth and ImageLength with the given field types (3 SHORT, 4 LONG).
std::string tiff_header(bool big, int width_type, std::uint32_t width, int height_type,
                        std::uint32_t height) {
  const auto entry = [&](std::uint32_t tag, int type, std::uint32_t value) {
    const std::string field = type == 3 ? u16(value, big) + u16(0, big) : u32(value, big);
    return u16(tag, big) + u16(type, big) + u32(1, big) + field;
  };
  return (big ? "MM\0*"s : "II*\0"s) + u32(8, big) + u16(2, big) + entry(256, width_type, width) +
         entry(257, height_type, height) + u32(0, big);
}

std::size_t find_marker(const std::string& jpeg, char marker) {
  const auto at = jpeg.find("\xFF"s + marker);
  EXPECT_NE(at, std::string::npos);
  return at;
}

TEST(SniffFormat, RecognisesEachFormatByItsMagicBytes) {
  const cv::Mat picture = make_picture(8, 6);
  EXPECT_EQ(sniff_format(encode_as(picture, ".jpg")), ImageFormat::Jpeg);
  EXPECT_EQ(sniff_format(encode_as(picture, ".png")), ImageFormat::Png);
  EXPECT_EQ(sniff_format(encode_as(picture, ".webp")), ImageFormat::Webp);
  EXPECT_EQ(sniff_format(encode_as(picture, ".bmp")), ImageFormat::Bmp);
  EXPECT_EQ(sniff_format(encode_as(picture, ".tiff")), ImageFormat::Tiff);
  EXPECT_EQ(sniff_format("MM\0*"s), ImageFormat::Tiff);
}

TEST(SniffFormat, RejectsEverythingElse) {
  EXPECT_EQ(sniff_format(""), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format("\xFF\xD8"), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format("GIF89a\x01\x00"), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format("RIFF\x10\0\0\0WAVEfmt "s), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format("RIFF\x10\0\0\0WEB"s), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format("II+\0"s), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format("{\"image\": 1}"), ImageFormat::Unknown);
  EXPECT_EQ(to_string(ImageFormat::Webp), "webp");
  EXPECT_EQ(to_string(ImageFormat::Unknown), "unknown");
}

TEST(ReadImageSize, ReadsEveryFormatOpenCvWrites) {
  const cv::Mat picture = make_picture(37, 23);
  for (const char* extension : {".jpg", ".png", ".webp", ".bmp", ".tiff"}) {
    const std::string bytes = encode_as(picture, extension);
    const auto size = read_image_size(bytes, sniff_format(bytes));
    ASSERT_TRUE(size) << extension;
    EXPECT_EQ(size->width, 37) << extension;
    EXPECT_EQ(size->height, 23) << extension;
  }
}

TEST(ReadImageSize, ReadsEachWebpFlavour) {
  const auto webp = [](const cv::Mat& image, int quality) {
    std::vector<std::uint8_t> buffer;
    EXPECT_TRUE(cv::imencode(".webp", image, buffer, {cv::IMWRITE_WEBP_QUALITY, quality}));
    return std::string(buffer.begin(), buffer.end());
  };
  cv::Mat bgra;
  cv::cvtColor(make_picture(301, 97), bgra, cv::COLOR_BGR2BGRA);
  bgra(cv::Rect(0, 0, 50, 50)).setTo(cv::Scalar(0, 0, 0, 0));  // libwebp drops an opaque alpha
  const std::string lossy = webp(make_picture(301, 97), 80);
  const std::string lossless = webp(make_picture(301, 97), 101);
  const std::string extended = webp(bgra, 80);  // lossy with alpha: VP8X + ALPH + VP8
  EXPECT_EQ(lossy.substr(12, 4), "VP8 ");
  EXPECT_EQ(lossless.substr(12, 4), "VP8L");
  EXPECT_EQ(extended.substr(12, 4), "VP8X");
  for (const std::string& bytes : {lossy, lossless, extended}) {
    const auto size = read_image_size(bytes, ImageFormat::Webp);
    ASSERT_TRUE(size) << bytes.substr(12, 4);
    EXPECT_EQ(size->width, 301);
    EXPECT_EQ(size->height, 97);
  }
}

TEST(ReadImageSize, ReadsProgressiveJpeg) {
  std::vector<std::uint8_t> buffer;
  ASSERT_TRUE(
      cv::imencode(".jpg", make_picture(50, 40), buffer, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  const std::string jpeg(buffer.begin(), buffer.end());
  ASSERT_NE(jpeg.find("\xFF\xC2"), std::string::npos);  // SOF2
  const auto size = read_image_size(jpeg, ImageFormat::Jpeg);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 50);
  EXPECT_EQ(size->height, 40);
}

TEST(ReadImageSize, JpegSkipsLookAlikeSegmentsFillBytesAndStandaloneMarkers) {
  std::string jpeg = encode_as(make_picture(50, 40), ".jpg");
  // DHT (C4), JPG (C8) and DAC (CC) sit in the SOF range but are not frames; their payloads would
  // read as a 0x1234 x 0x5678 image.
  const std::string decoy = "\x08\x56\x78\x12\x34"s;
  std::string extra;
  for (const char marker : {'\xC4', '\xC8', '\xCC'})
    extra += "\xFF"s + marker + u16(7, true) + decoy;
  extra += "\xFF\x01"s + "\xFF\xD3"s + "\xFF\xFF\xFF"s;  // TEM, RST3, then fill bytes
  jpeg.insert(find_marker(jpeg, '\xC0'), extra);
  const auto size = read_image_size(jpeg, ImageFormat::Jpeg);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 50);
  EXPECT_EQ(size->height, 40);
}

TEST(ReadImageSize, JpegWithoutAFrameBeforeTheScanHasNoSize) {
  EXPECT_FALSE(read_image_size("\xFF\xD8\xFF\xD9"s, ImageFormat::Jpeg));
  EXPECT_FALSE(read_image_size("\xFF\xD8\xFF\xDA\x00\x02\xFF\xC0\x00\x0B\x08\x00\x10\x00\x10"s,
                               ImageFormat::Jpeg));
  // A segment length that runs past the data.
  EXPECT_FALSE(read_image_size("\xFF\xD8\xFF\xE0\x7F\xFF\x00"s, ImageFormat::Jpeg));
  // Height 0 (to be defined by a DNL marker) is refused, as libjpeg refuses it.
  EXPECT_FALSE(read_image_size("\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x00\x00\x10"s, ImageFormat::Jpeg));
}

TEST(ReadImageSize, PngHeaderAloneIsEnough) {
  const auto size = read_image_size(png_header(50000, 40000), ImageFormat::Png);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 50000);
  EXPECT_EQ(size->height, 40000);
  EXPECT_FALSE(read_image_size(png_header(0, 10), ImageFormat::Png));
  EXPECT_FALSE(read_image_size(png_header(10, 0x80000000u), ImageFormat::Png));
  std::string not_ihdr = png_header(10, 10);
  not_ihdr.replace(12, 4, "IDAT");
  EXPECT_FALSE(read_image_size(not_ihdr, ImageFormat::Png));
}

TEST(ReadImageSize, BmpTopDownAndCoreHeaders) {
  std::string bmp = encode_as(make_picture(21, 13), ".bmp");
  bmp.replace(22, 4, u32(static_cast<std::uint32_t>(-13), false));  // negative height: top-down
  auto size = read_image_size(bmp, ImageFormat::Bmp);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 21);
  EXPECT_EQ(size->height, 13);

  // BITMAPCOREHEADER (OS/2): 12 bytes with 16-bit width and height.
  const std::string core = "BM"s + u32(0, false) + u32(0, false) + u32(26, false) + u32(12, false) +
                           u16(640, false) + u16(480, false) + u16(1, false) + u16(24, false);
  size = read_image_size(core, ImageFormat::Bmp);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 640);
  EXPECT_EQ(size->height, 480);

  bmp.replace(18, 4, u32(static_cast<std::uint32_t>(-21), false));  // negative width is invalid
  EXPECT_FALSE(read_image_size(bmp, ImageFormat::Bmp));
}

TEST(ReadImageSize, TiffShortAndLongFieldsInBothByteOrders) {
  for (const bool big : {true, false}) {
    auto size = read_image_size(tiff_header(big, 3, 1200, 4, 70000), ImageFormat::Tiff);
    ASSERT_TRUE(size) << big;
    EXPECT_EQ(size->width, 1200);
    EXPECT_EQ(size->height, 70000);
    size = read_image_size(tiff_header(big, 4, 5, 3, 65535), ImageFormat::Tiff);
    ASSERT_TRUE(size) << big;
    EXPECT_EQ(size->width, 5);
    EXPECT_EQ(size->height, 65535);
    EXPECT_FALSE(read_image_size(tiff_header(big, 5, 5, 3, 7), ImageFormat::Tiff));  // RATIONAL
  }
  std::string outside = tiff_header(false, 3, 5, 3, 7);
  outside.replace(4, 4, u32(0xFFFFFFF0u, false));  // IFD offset far past the end
  EXPECT_FALSE(read_image_size(outside, ImageFormat::Tiff));
}

// A prefix of a file either has too little header (nullopt) or the whole header (the true size);
// nothing in between, and never a read past the end (AddressSanitizer watches for that).
TEST(ReadImageSize, EveryPrefixGivesNothingOrTheTrueSize) {
  cv::Mat bgra;
  cv::cvtColor(make_picture(19, 11), bgra, cv::COLOR_BGR2BGRA);
  std::vector<std::string> files;
  for (const char* extension : {".jpg", ".png", ".webp", ".bmp", ".tiff"}) {
    files.push_back(encode_as(make_picture(19, 11), extension));
  }
  files.push_back(encode_as(bgra, ".webp"));
  files.push_back(tiff_header(true, 3, 19, 4, 11));
  for (const std::string& file : files) {
    const ImageFormat format = sniff_format(file);
    testing::for_each_prefix(file, [&](std::string_view prefix, std::size_t length) {
      const auto size = read_image_size(prefix, format);
      if (size) {
        EXPECT_EQ(size->width, 19) << to_string(format) << " prefix " << length;
        EXPECT_EQ(size->height, 11) << to_string(format) << " prefix " << length;
      }
      if (length == file.size()) {
        EXPECT_TRUE(size) << to_string(format);
      }
    });
  }
}

TEST(ReadImageSize, SurvivesRandomBytesAfterEachMagic) {
  std::mt19937 random(1234);
  const std::string magics[] = {"\xFF\xD8\xFF"s,
                                "\x89PNG\r\n\x1A\n"s,
                                "RIFF\0\0\0\0WEBPVP8 "s,
                                "RIFF\0\0\0\0WEBPVP8L"s,
                                "RIFF\0\0\0\0WEBPVP8X"s,
                                "BM"s,
                                "II*\0"s,
                                "MM\0*"s};
  for (const std::string& magic : magics) {
    for (int round = 0; round < 500; ++round) {
      std::string bytes = magic;
      const int extra = static_cast<int>(random() % 64);
      for (int i = 0; i < extra; ++i)
        bytes += static_cast<char>(random() % 4 == 0 ? 0xFF : random());
      testing::for_each_prefix(bytes, [&](std::string_view prefix, std::size_t) {
        const auto size = read_image_size(prefix, sniff_format(prefix));
        if (size) {
          EXPECT_GT(size->width, 0);
        }
      });
    }
  }
}

}  // namespace
}  // namespace cutout::imaging
