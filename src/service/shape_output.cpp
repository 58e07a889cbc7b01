#include "shape_output.hpp"

#include "cutout/imaging/compose.hpp"
#include "cutout/imaging/crop.hpp"
#include "cutout/imaging/downscale.hpp"

namespace cutout::service {
namespace {

ForegroundBox to_box(const cv::Rect& r) { return ForegroundBox{r.x, r.y, r.width, r.height}; }

}  // namespace

ShapedOutput shape_output(const imaging::DecodedImage& image, const cv::Mat& mask,
                          const RemoveBackgroundOptions& options) {
  const bool mask_only = options.output == OutputKind::Mask;
  const cv::Mat alpha = mask_only ? mask : imaging::effective_alpha(image, mask);
  const std::optional<cv::Rect> subject = imaging::subject_box(alpha);

  // Crop: views into the full-size pixels, no copy.
  cv::Rect region(0, 0, alpha.cols, alpha.rows);
  if (options.geometry.crop && subject) {
    region = imaging::crop_region(*subject, options.geometry.crop_margin.value_or(imaging::CropMargin{}),
                                  region.size());
  }
  cv::Mat bgr = image.bgr(region);
  cv::Mat out_alpha = alpha(region);

  // max_side: shrink before composing and encoding, which then run on the smaller picture.
  const cv::Size size = options.geometry.max_side
                            ? imaging::fit_within(region.size(), *options.geometry.max_side)
                            : region.size();
  const bool shrunk = size != region.size();
  if (shrunk) {
    if (mask_only) {
      out_alpha = imaging::downscale_gray(out_alpha, size);
    } else {
      cv::Mat small_bgr, small_alpha;
      imaging::downscale_cutout(bgr, out_alpha, size, small_bgr, small_alpha);
      bgr = small_bgr;
      out_alpha = small_alpha;
    }
  }

  ShapedOutput out;
  if (mask_only) {
    out.picture = out_alpha;
  } else {
    // The alpha is final here (input alpha already applied), so the colour goes in without one.
    const imaging::DecodedImage colour{bgr, cv::Mat(), image.format};
    // Foreground estimation runs on the output's pixels: after the crop and the shrink, so a
    // max_side request also pays less for it.
    out.picture = options.background
                      ? imaging::flatten_onto(colour, out_alpha, *options.background, options.foreground)
                      : imaging::compose_cutout(colour, out_alpha, options.foreground);
  }
  // The subject's box in the output's pixels: shifted by the crop, or measured again after
  // shrinking (averaging moves the threshold crossing by up to a pixel).
  if (shrunk) {
    if (const auto box = imaging::subject_box(out_alpha)) out.foreground = to_box(*box);
  } else if (subject) {
    out.foreground = to_box(*subject - region.tl());
  }
  return out;
}

}  // namespace cutout::service
