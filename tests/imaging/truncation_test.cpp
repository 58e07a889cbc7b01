// Decoding never returns pixels the file did not contain: a truncated or corrupt file of every
// format is invalid_image, deterministically, and decoders write into zeroed buffers.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>


#include <gtest/gtest.h>
#include <jpeglib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "imaging/decode_limits.hpp"
#include "cutout/imaging/decode.hpp"
#include "imaging/colour_files.hpp"
#include "imaging/prefixes.hpp"
#include "imaging/zeroed_allocator.hpp"
#include "support/silenced_stderr.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using testing::encode_as;
using testing::make_picture;

std::string read_case(const std::string& name) {
  std::ifstream file(std::string(CUTOUT_IMAGING_CASES_DIR) + "/" + name, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  EXPECT_TRUE(file.good() || file.eof()) << name;
  return bytes.str();
}

std::string encode_with(const cv::Mat& image, const std::string& extension,
                        std::vector<int> params) {
  std::vector<std::uint8_t> buffer;
  EXPECT_TRUE(cv::imencode(extension, image, buffer, params));
  return std::string(buffer.begin(), buffer.end());
}

// The error decode_image throws, or an "ok" marker when it decodes.
Error decode_outcome(std::string_view bytes) {
  try {
    decode_image(bytes, kLimits);
  } catch (const Error& error) {
    return error;
  }
  return Error(ErrorKind::Internal, "ok", "");
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

using testing::SilencedStderr;

TEST(Truncation, HeaderOnlyJpegCaseIsInvalidImageEveryTime) {
  const std::string c09 = read_case("c09_jpeg_header_only.jpg");
  ASSERT_EQ(c09.size(), 629u);
  const Error first = decode_outcome(c09);
  EXPECT_EQ(first.kind(), ErrorKind::InvalidArgument);
  EXPECT_EQ(first.type(), "invalid_image");
  EXPECT_NE(std::string(first.what()).find("truncated or corrupt"), std::string::npos)
      << first.what();
  for (int i = 0; i < 5; ++i) EXPECT_STREQ(decode_outcome(c09).what(), first.what());
}

TEST(Truncation, TruncatedBaselineJpegSaysWhatIsWrong) {
  const std::string jpeg = encode_as(make_picture(64, 48), ".jpg");
  const Error error = decode_outcome(jpeg.substr(0, jpeg.size() * 2 / 3));
  EXPECT_EQ(error.type(), "invalid_image");
  EXPECT_NE(std::string(error.what()).find("Premature end of JPEG file"), std::string::npos)
      << error.what();
}

// Every prefix of a file is refused as invalid_image (or, too short to recognise, as an unknown
// type); the only prefix allowed to decode is one that lost nothing but bytes after the last pixel
// (a JPEG's EOI marker), and then it must give exactly the whole file's pixels.
void expect_prefixes_refused(const std::string& file, const std::string& what,
                             std::size_t allowed_tail = 0) {
  const DecodedImage whole = decode_image(file, kLimits);
  std::size_t decoded = 0;
  testing::for_each_prefix(file, [&](std::string_view prefix, std::size_t length) {
    if (length == file.size()) return;
    try {
      const DecodedImage image = decode_image(prefix, kLimits);
      ++decoded;
      EXPECT_GE(length + allowed_tail, file.size()) << what << " prefix " << length;
      EXPECT_TRUE(same(image.bgr, whole.bgr)) << what << " prefix " << length;
    } catch (const Error& error) {
      EXPECT_TRUE(error.kind() == ErrorKind::InvalidArgument ||
                  (length < 12 && error.kind() == ErrorKind::UnsupportedMediaType))
          << what << " prefix " << length << ": " << error.what();
    }
  });
  EXPECT_LE(decoded, allowed_tail) << what;
}

TEST(Truncation, EveryPrefixOfAJpegIsRefused) {
  const cv::Mat picture = make_picture(40, 24);
  expect_prefixes_refused(encode_as(picture, ".jpg"), "baseline jpeg", 2);
  expect_prefixes_refused(encode_with(picture, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
                          "progressive jpeg", 2);
  expect_prefixes_refused(encode_with(picture, ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 1}),
                          "jpeg with restart markers", 2);
  cv::Mat gray;
  cv::cvtColor(picture, gray, cv::COLOR_BGR2GRAY);
  expect_prefixes_refused(encode_as(gray, ".jpg"), "grayscale jpeg", 2);
}

TEST(Truncation, EveryPrefixOfAPngWebpTiffOrBmpIsRefused) {
  const SilencedStderr silenced;
  const cv::Mat picture = make_picture(24, 16);
  cv::Mat wide;
  picture.convertTo(wide, CV_16UC3, 257.0);
  expect_prefixes_refused(encode_as(picture, ".png"), "png");
  expect_prefixes_refused(encode_as(wide, ".png"), "16-bit png");
  expect_prefixes_refused(encode_as(picture, ".webp"), "lossy webp");
  expect_prefixes_refused(encode_with(picture, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}),
                          "lossless webp");
  expect_prefixes_refused(encode_as(picture, ".bmp"), "bmp");
  expect_prefixes_refused(encode_as(picture, ".tiff"), "tiff (OpenCV's, IFD last)");
  expect_prefixes_refused(testing::tiff_with_icc(picture, ""), "tiff (IFD first, raw strip)");
}

TEST(Truncation, CorruptJpegScanDataIsRefused) {
  // A marker in the middle of the entropy-coded data: libjpeg's "premature end of data segment".
  std::string jpeg = encode_as(make_picture(64, 48), ".jpg");
  const std::size_t scan = jpeg.find("\xFF\xDA");
  ASSERT_NE(scan, std::string::npos);
  const std::size_t middle = scan + (jpeg.size() - scan) / 2;
  jpeg[middle] = '\xFF';
  jpeg[middle + 1] = '\xD9';
  const Error error = decode_outcome(jpeg);
  EXPECT_EQ(error.type(), "invalid_image") << error.what();
}

TEST(Truncation, HarmlessJpegWarningsStillDecode) {
  // Stray bytes between the scan and EOI ("extraneous bytes before marker 0xd9"): every pixel is
  // in the file, and many cameras write such files.
  const cv::Mat picture = make_picture(32, 16);
  const std::string clean = encode_as(picture, ".jpg");
  std::string padded = clean;
  padded.insert(padded.size() - 2, "\x12\x34\x56");
  EXPECT_TRUE(same(decode_image(padded, kLimits).bgr, decode_image(clean, kLimits).bgr));
}

// A valid progressive grayscale JPEG with 631 scans: DC, then each AC coefficient alone, first
// at 9 bits of precision lost, then refined one bit per scan (10 scans per coefficient).
std::string jpeg_with_631_scans() {
  std::vector<jpeg_scan_info> scans;
  scans.push_back({1, {0}, 0, 0, 0, 0});
  for (int k = 1; k < 64; ++k) {
    scans.push_back({1, {0}, k, k, 0, 9});
    for (int al = 8; al >= 0; --al) scans.push_back({1, {0}, k, k, al + 1, al});
  }
  const cv::Mat gray(16, 16, CV_8UC1, cv::Scalar(90));
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr errors{};
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &out, &size);
  cinfo.image_width = cinfo.image_height = 16;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  cinfo.scan_info = scans.data();
  cinfo.num_scans = static_cast<int>(scans.size());
  jpeg_start_compress(&cinfo, TRUE);
  for (int y = 0; y < 16; ++y) {
    JSAMPROW row = const_cast<JSAMPROW>(gray.ptr<std::uint8_t>(y));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<const char*>(out), size);
  std::free(out);
  return bytes;
}

TEST(Truncation, TooManyProgressiveScansAreRefused) {
  // Each scan re-reads the whole coefficient buffer: over 500 is refused, as TurboJPEG's
  // TJFLAG_LIMITSCANS does. OpenCV decodes the file, so it is valid.
  const std::string many = jpeg_with_631_scans();
  ASSERT_FALSE(cv::imdecode(cv::Mat(1, static_cast<int>(many.size()), CV_8UC1,
                                    const_cast<char*>(many.data())),
                            cv::IMREAD_UNCHANGED)
                   .empty());
  const Error error = decode_outcome(many);
  EXPECT_EQ(error.type(), "invalid_image");
  EXPECT_NE(std::string(error.what()).find("more than 500 scans"), std::string::npos)
      << error.what();
}

TEST(Truncation, DecodersFillZeroedBuffers) {
  // Freed memory is usually handed out again: a plain malloc would give back the 0xAB bytes.
  for (int i = 0; i < 3; ++i) {
    cv::Mat dirty = detail::zeroed_mat(300, 400, CV_8UC3);
    dirty.setTo(cv::Scalar::all(0xAB));
  }
  const cv::Mat fresh = detail::zeroed_mat(300, 400, CV_8UC3);
  EXPECT_EQ(cv::countNonZero(fresh.reshape(1)), 0);
  // The decoded pixels of a JPEG and of a three-channel PNG are the buffers the decoder filled.
  for (const char* extension : {".jpg", ".png"}) {
    const DecodedImage image = decode_image(encode_as(make_picture(20, 10), extension), kLimits);
    ASSERT_NE(image.bgr.u, nullptr);
    EXPECT_EQ(image.bgr.u->currAllocator, detail::zeroed_allocator()) << extension;
  }
}

}  // namespace
}  // namespace cutout::imaging
