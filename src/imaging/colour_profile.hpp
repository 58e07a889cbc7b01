#pragma once
// Converting decoded pixels from their embedded ICC profile to sRGB with lcms2, so that the model
// sees, and the output carries, the colours the file means (untagged output is read as sRGB by
// every viewer). Transforms are cached per profile, since phones tag every photo alike.
//
// Rendering intent: perceptual when the profile has perceptual tables (LUT profiles, e.g. CMYK
// printing profiles, whose maker chose how to map their gamut), else relative colorimetric
// (matrix/TRC profiles such as Display P3 and Adobe RGB: colours inside sRGB stay exact, those
// outside are clipped to its gamut edge). No black point compensation.

#include <string>
#include <string_view>

#include <opencv2/core.hpp>

namespace cutout::imaging::detail {

// What became of a profile. A profile lcms2 cannot read, or one for another colour space than the
// pixels' (a CMYK profile on an RGB image, say), is ignored, as browsers do: the pixels are then
// taken as sRGB. `note` says why, for the log.
struct ProfileOutcome {
  enum class Kind { None, Converted, AlreadySrgb, Ignored } kind = Kind::None;
  std::string note;
};

// Converts `bgr` (CV_8UC3) in place to sRGB. `gray_source`: the file was grayscale and `bgr` holds
// its gray values in all three channels (a gray profile then applies). Empty `icc`: nothing done.
// A profile that lcms2 maps to within one level of sRGB everywhere leaves the pixels untouched.
ProfileOutcome convert_to_srgb(cv::Mat& bgr, std::string_view icc, bool gray_source);

// CMYK (CV_8UC4; `inverted`: Adobe's 0-is-full-ink) to sRGB BGR (CV_8UC3, zeroed allocation).
// With a CMYK profile, lcms2 converts; without one (or one it cannot use), the naive formula
// OpenCV used (R = 255 - C - K folded as C * K / 255 on inverted values), as before.
cv::Mat cmyk_to_bgr(const cv::Mat& cmyk, bool inverted, std::string_view icc,
                    ProfileOutcome& outcome);

}  // namespace cutout::imaging::detail
