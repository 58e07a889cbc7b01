#pragma once
// JPEG decoding with libjpeg-turbo's libjpeg API, refusing any file whose pixels are not all in it.
// (OpenCV 4.6 ignores libjpeg's warnings, so a truncated file came back with rows that were never
// decoded.) Colour JPEGs decode straight to BGR in a zeroed buffer; CMYK ones to raw CMYK.

#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "decode_deadline.hpp"

namespace cutout::imaging::detail {

struct JpegPixels {
  cv::Mat pixels;            // CV_8UC3 BGR (colour and grayscale files) or CV_8UC4 CMYK
  bool gray = false;         // the file is grayscale (its pixels are expanded to BGR)
  bool cmyk_inverted = false;  // CMYK with an Adobe APP14 marker: 0 means full ink
  std::string icc_profile;   // the APP2 ICC_PROFILE segments, reassembled; empty when none
};

// Throws cutout::Error InvalidArgument ("invalid_image") when libjpeg reports an error, or a
// warning that means pixels are missing or were made up (premature end of file or data segment,
// bad Huffman or arithmetic code, resync, bad progression), or the file has over 500 scans.
// Warnings about metadata that leave every pixel intact (extraneous bytes between segments, a
// bad ICC marker, an unknown JFIF revision or Adobe transform code) are not errors. Throws
// InvalidArgument ("decode_timeout") when `deadline` passes while decoding (checked per row batch
// and, for progressive files, per row of blocks of every scan).
JpegPixels decode_jpeg(std::string_view bytes, const DecodeDeadline& deadline);

}  // namespace cutout::imaging::detail
