#include "cutout/engine/probe.hpp"

#include <algorithm>
#include <cstdint>

namespace cutout::engine {
namespace {

using i64 = std::int64_t;

i64 clamp(i64 v, i64 lo, i64 hi) { return std::min(std::max(v, lo), hi); }

// Every division below has a non-negative numerator, so C++'s truncation equals Python's floor.
i64 blend(i64 bg, i64 fg, i64 alpha) { return (bg * (256 - alpha) + fg * alpha) / 256; }

}  // namespace

std::vector<std::uint8_t> probe_rgb(int width, int height) {
  const i64 w = width, h = height;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w * h * 3));
  const i64 cx = w / 2, cy = h * 62 / 100;
  const i64 rx = std::max<i64>(1, w * 28 / 100), ry = std::max<i64>(1, h * 33 / 100);
  const i64 hx = w / 2, hy = h * 26 / 100;
  const i64 rr = std::max<i64>(1, std::min(w, h) * 13 / 100);
  for (i64 y = 0; y < h; ++y) {
    const i64 v = y * 256 / h;
    for (i64 x = 0; x < w; ++x) {
      const i64 u = x * 256 / w;
      const i64 bg[3] = {70 + u * 60 / 256, 95 + (255 - v) * 50 / 256,
                         120 + (255 - v) * 90 / 256 + u * 20 / 256};
      const i64 d1 = (x - cx) * (x - cx) * 256 / (rx * rx) + (y - cy) * (y - cy) * 256 / (ry * ry);
      const i64 a1 = clamp((288 - d1) * 8, 0, 256);
      const i64 ob[3] = {150 + v * 80 / 256, 90 + u * 40 / 256, 60 + v * 30 / 256};
      const i64 d2 = ((x - hx) * (x - hx) + (y - hy) * (y - hy)) * 256 / (rr * rr);
      const i64 a2 = clamp((288 - d2) * 8, 0, 256);
      const i64 hd[3] = {110, 70, 50 + u * 20 / 256};
      const i64 noise = (x * 7919 + y * 104729 + (x * y) % 97) % 17 - 8;
      std::uint8_t* px = &rgb[static_cast<std::size_t>((y * w + x) * 3)];
      for (int c = 0; c < 3; ++c) {
        px[c] = static_cast<std::uint8_t>(clamp(blend(blend(bg[c], ob[c], a1), hd[c], a2) + noise, 0, 255));
      }
    }
  }
  return rgb;
}

}  // namespace cutout::engine
