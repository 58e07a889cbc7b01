#pragma once
// The decode deadline: a wall-clock budget for turning one upload's bytes into pixels. The JPEG
// decoder checks it between rows and between scans (libjpeg's progress monitor) and stops there;
// OpenCV's decoders (PNG, WebP, TIFF, BMP) cannot be stopped from outside, so it is checked when
// each returns and between the later stages (colour conversion, orientation). Their work is
// bounded by the header checks instead: the pixel limit, and for TIFF the tile or strip size.

#include <chrono>
#include <string>

namespace cutout::imaging::detail {

class DecodeDeadline {
 public:
  // A budget of zero means no deadline.
  explicit DecodeDeadline(std::chrono::milliseconds budget);

  bool passed() const;
  // Throws cutout::Error InvalidArgument ("decode_timeout") when passed; `stage` says where.
  void check(const std::string& stage) const;
  [[noreturn]] void fail(const std::string& stage) const;

 private:
  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point end_;
};

}  // namespace cutout::imaging::detail
