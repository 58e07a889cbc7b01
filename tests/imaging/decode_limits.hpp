#pragma once
// The pixel limit the imaging tests decode with: the service's default (config::Settings).

#include "cutout/imaging/decode.hpp"

namespace cutout::imaging {

inline constexpr DecodeLimits kLimits{50'000'000};

}  // namespace cutout::imaging
