#pragma once
// ICC profiles made with lcms2 and images that embed them, each container written the way its
// specification says (JPEG APP2 ICC_PROFILE segments, PNG iCCP, WebP VP8X + ICCP, TIFF tag 34675).
// Made in code, like every test image, so each test says exactly what its input holds.

#include <cstddef>
#include <string>

#include <opencv2/core.hpp>

namespace cutout::testing {

// Display P3: D65 white, DCI-P3 primaries, the sRGB tone curve (as Apple's profile has).
std::string display_p3_profile();
// Adobe RGB (1998): D65 white, its primaries, gamma 563/256.
std::string adobe_rgb_profile();
// lcms2's own sRGB profile.
std::string srgb_profile();
// A gray profile: D50 white, the given gamma.
std::string gray_profile(double gamma);
// A CMYK output profile (ICC v4, Lab PCS) whose only table, AToB0, maps ink through a simple
// subtractive model; enough for lcms2 to build a CMYK -> sRGB transform from it.
std::string cmyk_profile();

// An OpenCV-encoded JPEG with `icc` in APP2 segments of at most `chunk` profile bytes each.
std::string jpeg_with_icc(const cv::Mat& bgr, const std::string& icc, std::size_t chunk = 60000);
// A CMYK JPEG written with libjpeg (Adobe APP14 marker, so inverted: 255 is no ink, as Photoshop
// writes them); `inverted_cmyk` is CV_8UC4 in that convention. `icc` may be empty.
std::string cmyk_jpeg(const cv::Mat& inverted_cmyk, const std::string& icc);
// The CMYK values libjpeg decodes from a CMYK JPEG, as stored (CV_8UC4).
cv::Mat decode_raw_cmyk(const std::string& jpeg);
// An OpenCV-encoded PNG with an iCCP chunk after IHDR.
std::string png_with_icc(const cv::Mat& image, const std::string& icc);
// A lossless WebP (VP8X with the ICC flag, ICCP chunk before the image, as the spec orders them).
std::string webp_with_icc(const cv::Mat& bgr, const std::string& icc);
// An uncompressed 8-bit RGB TIFF, IFD first then one strip, with tag 34675 when `icc` is not empty.
std::string tiff_with_icc(const cv::Mat& bgr, const std::string& icc);

// lcms2's reference conversion to sRGB: BGR (CV_8UC3) or inverted CMYK (CV_8UC4) in, sRGB BGR
// (CV_8UC3) out; `intent` is an lcms2 intent. By default unoptimised, in double precision, rounded
// to 8 bits; with `as_8bit`, lcms2's ordinary optimised 8-bit transform (what PIL.ImageCms and any
// other lcms2 user converting 8-bit pixels gets).
cv::Mat reference_to_srgb(const cv::Mat& pixels, const std::string& icc, unsigned intent,
                          bool as_8bit = false);

}  // namespace cutout::testing
