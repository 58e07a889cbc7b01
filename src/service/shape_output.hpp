#pragma once
// From the decoded image and its full-size matte to the picture the client asked for: crop to the
// subject (crop, crop_margin), shrink (max_side), then compose (rgba, bg_color) or the mask.
// Private to the service layer.

#include <optional>

#include <opencv2/core.hpp>

#include "cutout/imaging/decode.hpp"
#include "cutout/service/remove_background.hpp"
#include "cutout/service/request_options.hpp"

namespace cutout::service {

struct ShapedOutput {
  cv::Mat picture;                    // CV_8UC1 mask, CV_8UC3 flattened or CV_8UC4 cut-out
  std::optional<ForegroundBox> foreground;  // in the picture's pixels; nullopt: no subject
};

// `mask` is CV_8UC1 of the image's size. The subject is where the result's alpha (the mask for
// output=mask, else the cut-out's alpha, mask x input alpha) is >= imaging::kSubjectAlphaThreshold.
// Without a subject, crop=true leaves the image uncropped. Throws cv::Exception on OpenCV failures.
ShapedOutput shape_output(const imaging::DecodedImage& image, const cv::Mat& mask,
                          const RemoveBackgroundOptions& options);

}  // namespace cutout::service
