#include "support/test_images.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace cutout::testing {
namespace {

void append_u16(std::string& out, std::uint32_t value, bool big_endian) {
  const char high = static_cast<char>((value >> 8) & 0xFF), low = static_cast<char>(value & 0xFF);
  out += big_endian ? high : low;
  out += big_endian ? low : high;
}

void append_u32(std::string& out, std::uint32_t value, bool big_endian) {
  append_u16(out, big_endian ? value >> 16 : value & 0xFFFF, big_endian);
  append_u16(out, big_endian ? value & 0xFFFF : value >> 16, big_endian);
}

void append_u24_le(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 3; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

// A TIFF structure whose IFD0 holds only the Orientation tag (SHORT, count 1).
std::string exif_tiff(int orientation, bool big_endian) {
  std::string tiff = big_endian ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  append_u32(tiff, 8, big_endian);  // IFD0 right after the header
  append_u16(tiff, 1, big_endian);  // one entry
  append_u16(tiff, 0x0112, big_endian);
  append_u16(tiff, 3, big_endian);  // SHORT
  append_u32(tiff, 1, big_endian);
  append_u16(tiff, static_cast<std::uint32_t>(orientation), big_endian);
  append_u16(tiff, 0, big_endian);  // the rest of the 4-byte value field
  append_u32(tiff, 0, big_endian);  // no next IFD
  return tiff;
}

// PNG's CRC-32 (the zlib polynomial), bit by bit: tests need it for a handful of bytes only.
std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

}  // namespace

cv::Mat make_picture(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at<cv::Vec3b>(y, x) = {static_cast<std::uint8_t>(x * 255 / std::max(width - 1, 1)),
                                   static_cast<std::uint8_t>(y * 255 / std::max(height - 1, 1)),
                                   static_cast<std::uint8_t>((x + y) * 3 % 256)};
    }
  }
  cv::circle(image, {width / 2, height / 2}, std::min(width, height) / 4, cv::Scalar(40, 160, 220),
             cv::FILLED);
  return image;
}

std::string encode_as(const cv::Mat& image, const std::string& extension) {
  std::vector<std::uint8_t> buffer;
  if (!cv::imencode(extension, image, buffer)) {
    throw std::runtime_error("test_images: cannot encode " + extension);
  }
  return std::string(buffer.begin(), buffer.end());
}

std::string jpeg_with_orientation(const cv::Mat& image, int orientation, bool big_endian) {
  const std::string payload = std::string("Exif\0\0", 6) + exif_tiff(orientation, big_endian);
  std::string segment = "\xFF\xE1";
  append_u16(segment, static_cast<std::uint32_t>(payload.size() + 2), true);  // JPEG: big-endian
  segment += payload;
  std::string jpeg = encode_as(image, ".jpg");
  jpeg.insert(2, segment);  // right after SOI
  return jpeg;
}

std::string png_with_orientation(const cv::Mat& image, int orientation, bool big_endian) {
  const std::string body = "eXIf" + exif_tiff(orientation, big_endian);
  std::string chunk;
  append_u32(chunk, static_cast<std::uint32_t>(body.size() - 4), true);
  chunk += body;
  append_u32(chunk, crc32(body), true);
  std::string png = encode_as(image, ".png");
  png.insert(8 + 25, chunk);  // after the signature and IHDR (4 + 4 + 13 + 4 bytes)
  return png;
}

std::string webp_with_orientation(const cv::Mat& image, int orientation, bool big_endian) {
  std::vector<std::uint8_t> buffer;
  if (!cv::imencode(".webp", image, buffer, {cv::IMWRITE_WEBP_QUALITY, 101})) {  // lossless
    throw std::runtime_error("test_images: cannot encode .webp");
  }
  const std::string simple(buffer.begin(), buffer.end());
  const std::string tiff = exif_tiff(orientation, big_endian);

  std::string chunks = "VP8X";
  append_u32(chunks, 10, false);
  chunks += static_cast<char>(0x08 | (image.channels() == 4 ? 0x10 : 0));  // EXIF (+ alpha) flags
  chunks += std::string(3, '\0');
  append_u24_le(chunks, static_cast<std::uint32_t>(image.cols - 1));
  append_u24_le(chunks, static_cast<std::uint32_t>(image.rows - 1));
  chunks += simple.substr(12);  // the image chunk(s) of the simple file
  chunks += "EXIF";
  append_u32(chunks, static_cast<std::uint32_t>(tiff.size()), false);
  chunks += tiff;
  if (tiff.size() % 2 != 0) chunks += '\0';

  std::string webp = "RIFF";
  append_u32(webp, static_cast<std::uint32_t>(4 + chunks.size()), false);
  return webp + "WEBP" + chunks;
}

}  // namespace cutout::testing
