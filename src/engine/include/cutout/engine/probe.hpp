#pragma once
// The golden probe picture: made from a formula, not stored pixels (models/golden.py, probe_rgb,
// is the same formula; a unit test checks both make the same bytes).

#include <cstdint>
#include <vector>

namespace cutout::engine {

// The name cutout_golden.json gives the formula below; a file naming another one is refused.
inline constexpr const char* kProbeName = "cutout-probe-1";

// width x height RGB pixels, row-major, 3 bytes each: a sky-like gradient, a soft-edged ellipse
// and a darker disc above it, and a fixed +-8 texture. Integer arithmetic only.
std::vector<std::uint8_t> probe_rgb(int width, int height);

}  // namespace cutout::engine
