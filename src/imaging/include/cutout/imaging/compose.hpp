#pragma once
// Turning an image and its matte into the picture the client asked for.

#include <cstdint>

#include <opencv2/core.hpp>

#include "cutout/imaging/decode.hpp"

namespace cutout::imaging {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

// The cut-out's alpha: the mask, or mask * input alpha / 255 (rounded) when the input had alpha
// (then a new Mat; else the mask itself, not a copy).
cv::Mat effective_alpha(const DecodedImage& image, const cv::Mat& mask);


// The colour under a partial alpha (0 < alpha < 255): the input's own (Raw: it still carries the old
// background mixed in) or the foreground colour estimated from it (Estimate: foreground.hpp, the
// multi-level method of Germer et al.). Pixels with alpha 0 or 255 keep their colour either way.
enum class ForegroundColour { Raw, Estimate };

// BGRA: the original pixels with the mask as alpha. An input that had alpha keeps its transparency:
// the result's alpha is mask * input_alpha / 255 (rounded), and estimation (when asked) uses that
// alpha.
cv::Mat compose_cutout(const DecodedImage& image, const cv::Mat& mask, ForegroundColour colour);

// BGR: the pixels (with the foreground colour chosen as in compose_cutout) blended over a solid
// colour by the same alpha as compose_cutout.
cv::Mat flatten_onto(const DecodedImage& image, const cv::Mat& mask, Rgb background,
                     ForegroundColour colour);

}  // namespace cutout::imaging
