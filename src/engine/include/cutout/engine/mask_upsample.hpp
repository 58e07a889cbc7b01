#pragma once
// The probability map back to the image's size as an 8-bit mask, on the CPU threads: LibTorch
// 1.13's CPU upsample_bilinear2d(align_corners=True) followed by x255, clamp and truncation, in one
// pass straight into the mask's rows, split across core::parallel_for. Bit-identical to
//   (interpolate(p, {height, width}, bilinear, align_corners=true) * 255).clamp(0, 255).to(uint8)
// as LibTorch 1.13 computes it on the CPU (tests/unit/mask_upsample_test.cpp holds the two equal).

#include <cstdint>

namespace cutout::engine {

// `probability`: float [h, w] row-major (h, w >= 1). `mask`: uint8 [height, width] row-major
// (height, width >= 1), every byte written. Values outside [0, 1] clamp; NaN gives 0.
void upsample_mask(const float* probability, int h, int w, std::uint8_t* mask, int height,
                   int width);

}  // namespace cutout::engine
