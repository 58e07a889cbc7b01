#pragma once
// The parameters that shape the result's geometry: crop=true, crop_margin, max_side.

#include <optional>
#include <string>

#include "cutout/imaging/crop.hpp"

namespace cutout::service {

constexpr int kMaxSideLimit = 65535;        // max_side accepts 1..this (more than any decodable side)
constexpr int kMaxCropMarginPixels = 65535;  // crop_margin=N: 0..this pixels
constexpr int kMaxCropMarginPercent = 100;   // crop_margin=N%: 0..this percent of the box

struct GeometryOptions {
  bool crop = false;                              // cut to the subject's box (plus margin)
  std::optional<imaging::CropMargin> crop_margin; // given only with crop=true; default 0
  std::optional<int> max_side;                    // the result's longer side at most this
};

// Reads one parameter into `geometry` when it is one of crop, crop_margin, max_side: true when
// it was, false for any other name. Throws cutout::Error (InvalidArgument, "invalid_parameter")
// for a bad value.
bool parse_geometry_parameter(const std::string& name, const std::string& value,
                              GeometryOptions& geometry);

// The checks across parameters: crop_margin without crop=true is refused (invalid_parameter).
void check_geometry(const GeometryOptions& geometry);

}  // namespace cutout::service
