// Decoding an upload into 8-bit sRGB BGR plus optional alpha. The pixel limit is checked from the
// header before anything is allocated, and again on the result because a header can lie. JPEG goes
// through libjpeg directly (jpeg_decode.hpp); the other formats through cv::imdecode, whose PNG,
// WebP, TIFF and BMP readers fail on truncated or corrupt data (tests/imaging/truncation_test.cpp).
// Every decoder writes into a zeroed buffer: a pixel it did not fill can never be old memory.

#include "cutout/imaging/decode.hpp"

#include <climits>
#include <cstdint>
#include <string>
#include <utility>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "colour_profile.hpp"
#include "decode_deadline.hpp"
#include "cutout/core/error.hpp"
#include "cutout/logging/logging.hpp"
#include "cutout/imaging/exif.hpp"
#include "icc_profile.hpp"
#include "jpeg_decode.hpp"
#include "tiff_layout.hpp"
#include "zeroed_allocator.hpp"

namespace cutout::imaging {
namespace {

[[noreturn]] void throw_invalid(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, "invalid_image", message);
}

void check_pixels(std::uint64_t width, std::uint64_t height, const DecodeLimits& limits) {
  if (width * height > limits.max_pixels) {
    throw Error(ErrorKind::PayloadTooLarge, "image_too_large",
                "the image is " + std::to_string(width) + "x" + std::to_string(height) + " (" +
                    std::to_string(width * height) + " pixels); the limit is " +
                    std::to_string(limits.max_pixels) + " pixels");
  }
}

// A TIFF's tile or strip is a second buffer the size of its declared geometry, allocated before
// any pixel is read: held to the same limit as the image.
void check_tiff_chunk(std::string_view bytes, ImageSize size, const DecodeLimits& limits) {
  const auto chunk = detail::tiff_chunk(bytes, size);
  if (!chunk) throw_invalid("the tiff header's tile size is missing, zero or malformed");
  if (chunk->pixels() > limits.max_pixels) {
    throw Error(ErrorKind::PayloadTooLarge, "image_too_large",
                std::string("the tiff image's ") + (chunk->tiled ? "tiles" : "strips") + " are " +
                    std::to_string(chunk->width) + "x" + std::to_string(chunk->height) + " (" +
                    std::to_string(chunk->pixels()) + " pixels); the limit is " +
                    std::to_string(limits.max_pixels) + " pixels");
  }
}

// Any depth OpenCV may return, as 8 bits per channel.
cv::Mat to_8bit(const cv::Mat& raw) {
  cv::Mat out;
  switch (raw.depth()) {
    case CV_8U: return raw;
    case CV_16U: raw.convertTo(out, CV_8U, 1.0 / 257.0); return out;  // rounds: 65535 -> 255
    case CV_16F:
    case CV_32F:
    case CV_64F: raw.convertTo(out, CV_8U, 255.0); return out;  // 0..1, clamped
    default: throw_invalid("the image's sample format (signed integers) is not supported");
  }
}

// Splits the colour and alpha of an 8-bit image of any channel count into BGR and (maybe) alpha.
void split_channels(const cv::Mat& image, cv::Mat& bgr, cv::Mat& alpha) {
  switch (image.channels()) {
    case 1: cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR); break;
    case 2: {  // gray + alpha
      bgr.create(image.size(), CV_8UC3);
      alpha.create(image.size(), CV_8UC1);
      cv::Mat outputs[] = {bgr, alpha};
      const int from_to[] = {0, 0, 0, 1, 0, 2, 1, 3};
      cv::mixChannels(&image, 1, outputs, 2, from_to, 4);
      break;
    }
    case 3: bgr = image; break;
    case 4: {
      bgr.create(image.size(), CV_8UC3);
      alpha.create(image.size(), CV_8UC1);
      cv::Mat outputs[] = {bgr, alpha};
      const int from_to[] = {0, 0, 1, 1, 2, 2, 3, 3};
      cv::mixChannels(&image, 1, outputs, 2, from_to, 4);
      break;
    }
    default:
      throw_invalid("images with " + std::to_string(image.channels()) +
                    " channels are not supported");
  }
}

}  // namespace

DecodedImage decode_image(std::string_view bytes, const DecodeLimits& limits) {
  const ImageFormat format = sniff_format(bytes);
  if (format == ImageFormat::Unknown) {
    throw Error(ErrorKind::UnsupportedMediaType, "unsupported_media_type",
                "the data is not a JPEG, PNG, WebP, BMP or TIFF image");
  }
  const auto size = read_image_size(bytes, format);
  if (!size) throw_invalid("the " + to_string(format) + " header is truncated or malformed");
  check_pixels(size->width, size->height, limits);
  if (format == ImageFormat::Tiff) check_tiff_chunk(bytes, *size, limits);
  if (bytes.size() > INT_MAX) {  // cv::Mat counts columns in an int
    throw Error(ErrorKind::PayloadTooLarge, "image_too_large", "the file is over 2 GiB");
  }

  const detail::DecodeDeadline deadline(limits.deadline);
  DecodedImage result;
  result.format = format;
  try {
    std::string icc;
    bool gray = false;
    detail::ProfileOutcome profile;
    if (format == ImageFormat::Jpeg) {
      detail::JpegPixels jpeg = detail::decode_jpeg(bytes, deadline);
      check_pixels(static_cast<std::uint64_t>(jpeg.pixels.cols),
                   static_cast<std::uint64_t>(jpeg.pixels.rows), limits);
      if (jpeg.pixels.channels() == 4) {
        result.bgr = detail::cmyk_to_bgr(jpeg.pixels, jpeg.cmyk_inverted, jpeg.icc_profile, profile);
      } else {
        result.bgr = jpeg.pixels;
        icc = std::move(jpeg.icc_profile);
        gray = jpeg.gray;
      }
    } else {
      // imdecode only reads the buffer; the Mat header just wraps it without copying.
      const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                           const_cast<char*>(bytes.data()));
      // IMREAD_UNCHANGED (-1, every flag bit set) keeps alpha and 16-bit depth, and makes OpenCV
      // skip EXIF orientation, which we apply below for every format alike. Passing `raw` makes
      // imdecode allocate through it, so with the zeroed allocator.
      cv::Mat raw = detail::zeroed_mat();
      cv::imdecode(buffer, cv::IMREAD_UNCHANGED, &raw);
      deadline.check("after the " + to_string(format) + " decode");
      if (raw.empty()) throw_invalid("the " + to_string(format) + " image could not be decoded");
      check_pixels(static_cast<std::uint64_t>(raw.cols), static_cast<std::uint64_t>(raw.rows),
                   limits);
      split_channels(to_8bit(raw), result.bgr, result.alpha);
      icc = detail::read_icc_profile(bytes, format);
      gray = raw.channels() <= 2;
    }
    deadline.check("before the colour conversion");
    if (!icc.empty()) profile = detail::convert_to_srgb(result.bgr, icc, gray);
    if (profile.kind == detail::ProfileOutcome::Kind::Ignored) {
      log_event(spdlog::level::warn, "colour profile ignored",
                {{"format", to_string(format)}, {"reason", profile.note}});
    }

    deadline.check("before the orientation");
    const int orientation = read_exif_orientation(bytes);
    result.bgr = apply_exif_orientation(result.bgr, orientation);
    if (!result.alpha.empty()) result.alpha = apply_exif_orientation(result.alpha, orientation);
    if (!result.bgr.isContinuous()) result.bgr = result.bgr.clone();
  } catch (const cv::Exception& e) {
    throw_invalid("the " + to_string(format) + " image could not be decoded: " + e.err);
  }
  return result;
}

}  // namespace cutout::imaging
