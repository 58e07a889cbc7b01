#include "cutout/service/geometry_options.hpp"

#include <cctype>

#include "cutout/core/error.hpp"

namespace cutout::service {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, "invalid_parameter", message);
}

// A plain decimal integer in [0, limit] (no sign, no spaces, at most 9 digits); nullopt otherwise.
std::optional<int> parse_count(const std::string& text, int limit) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > limit) return std::nullopt;
  return value;
}

}  // namespace

bool parse_geometry_parameter(const std::string& name, const std::string& value,
                              GeometryOptions& geometry) {
  if (name == "crop") {
    if (value == "true" || value == "1") {
      geometry.crop = true;
    } else if (value == "false" || value == "0") {
      geometry.crop = false;
    } else {
      invalid("crop must be true or false, not '" + value + "'");
    }
    return true;
  }
  if (name == "crop_margin") {
    imaging::CropMargin margin;
    std::string number = value;
    if (!number.empty() && number.back() == '%') {
      margin.percent = true;
      number.pop_back();
    } else if (number.size() > 2 && number.compare(number.size() - 2, 2, "px") == 0) {
      number.resize(number.size() - 2);
    }
    const auto parsed = parse_count(number, margin.percent ? kMaxCropMarginPercent : kMaxCropMarginPixels);
    if (!parsed) {
      invalid("crop_margin must be pixels (0.." + std::to_string(kMaxCropMarginPixels) +
              ", e.g. crop_margin=20) or a percentage of the subject's box (0.." +
              std::to_string(kMaxCropMarginPercent) + "%, e.g. crop_margin=10%), not '" + value + "'");
    }
    margin.value = *parsed;
    geometry.crop_margin = margin;
    return true;
  }
  if (name == "max_side") {
    const auto parsed = parse_count(value, kMaxSideLimit);
    if (!parsed || *parsed < 1) {
      invalid("max_side must be an integer in 1.." + std::to_string(kMaxSideLimit) + ", not '" +
              value + "'");
    }
    geometry.max_side = *parsed;
    return true;
  }
  return false;
}

void check_geometry(const GeometryOptions& geometry) {
  if (geometry.crop_margin && !geometry.crop) {
    invalid("crop_margin applies to crop=true");
  }
}

}  // namespace cutout::service
