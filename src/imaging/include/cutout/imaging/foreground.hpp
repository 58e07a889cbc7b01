#pragma once
// Foreground colour estimation: the colour a pixel under a partial alpha would have without the
// old background mixed in, so a cut-out carries no halo of it.
//
// Method: T. Germer, T. Uelwer, S. Conrad, S. Harmeling, "Fast Multi-Level Foreground Estimation",
// ICPR 2020 (arXiv:2006.14970), written from the paper. Per pixel i and colour channel, with alpha
// a_i in [0, 1] and image colour I_i in [0, 1], F and B minimise
//
//   sum_i (a_i F_i + (1 - a_i) B_i - I_i)^2
//     + sum_i sum_{j in N(i)} w_ij ((F_i - F_j)^2 + (B_i - B_j)^2),   w_ij = eps + omega |a_i - a_j|
//
// over the 4-neighbourhood N(i) (neighbours outside the image are left out). Setting the gradient
// to zero gives, for one pixel with its neighbours held fixed, the 2x2 system
//
//   [ a^2 + W      a(1-a)     ] [F]   [ a I     + sum_j w_ij F_j ]
//   [ a(1-a)       (1-a)^2 + W ] [B] = [ (1-a) I + sum_j w_ij B_j ],   W = sum_j w_ij
//
// solved in closed form and clamped to [0, 1]. The paper sweeps these updates over an image pyramid,
// coarse to fine: each level is the image and alpha resized by nearest neighbour, starts from the
// coarser level's F and B (nearest-neighbour upsampling), and runs a few sweeps.
//
// Choices where the paper leaves room (the Python reference in bench/foreground makes the same):
//  * levels halve: level k is ceil(W / 2^k) x ceil(H / 2^k), sampling the full-size pixel at the
//    centre of its 2^k block, down to 1 x 1, whose F = B = its own colour;
//  * sweeps are red-black (pixels with even x + y, then odd): deterministic whatever the threads,
//    and each half sweep is parallel;
//  * on levels over `dense_pixels`, only tiles near fractional alpha are swept (the band): tiles of
//    16 x 16 holding a pixel with an unsettled alpha (see `settled`) at that level, or the coarse parent of such a tile
//    on the finer level, grown by enough tiles to cover how far big_iterations sweeps carry a value
//    (2 pixels per sweep, halved per level up). The rest keep the value upsampled from the coarser
//    level. The result at fractional pixels is then the same as sweeping the whole level, at the
//    cost of the band: a 12 MP photo's cut-out edge, not its 12 MP.

#include <functional>

#include <opencv2/core.hpp>

namespace cutout::imaging {

struct ForegroundOptions {
  int small_size = 32;           // levels whose longer side is at most this many pixels ...
  int small_iterations = 10;     // ... get this many sweeps,
  int big_iterations = 2;        // the others this many (the paper's defaults)
  float regularization = 1e-5f;  // eps: smoothness of F and B where alpha is flat
  float gradient_weight = 1.0f;  // omega: more smoothness across alpha edges
  // Alpha at most `settled` or at least 255 - settled counts as settled: the pixel keeps its
  // colour. A model's matte is rarely exactly 0 or 255 (the default model gives 1-3 over
  // backgrounds and 250-254 over subjects), and such a pixel's raw colour is off by at most
  // min(a, 1 - a) |B - F|, under 8 levels of 255 in a * F for the default. 0: every 0 < a < 255.
  int settled = 8;
  int dense_pixels = 65536;      // levels up to this many pixels are swept whole
  // Threads for one call, 0: core::parallel_threads() (--cpu-threads, from the CPU quota). Helper
  // threads are capped process-wide at that count minus one, so concurrent calls share rather than
  // oversubscribe; the answer does not depend on how many a call gets.
  int threads = 0;
};

// Called once per pixel with settled < alpha < 255 - settled, with its estimated foreground colour (B, G, R in
// [0, 1]). Calls come from several threads at once, never twice for one pixel.
using ForegroundSink = std::function<void(int x, int y, const float bgr[3])>;

// bgr: CV_8UC3; alpha: CV_8UC1 of the same size. Throws cutout::Error (Internal) on other inputs.
void estimate_foreground(const cv::Mat& bgr, const cv::Mat& alpha, const ForegroundSink& sink,
                         const ForegroundOptions& options = {});

// The image with the estimated foreground (rounded to 8 bits) where settled < alpha < 255 -
// settled and its own colour elsewhere. CV_8UC3.
cv::Mat estimate_foreground(const cv::Mat& bgr, const cv::Mat& alpha,
                            const ForegroundOptions& options = {});

}  // namespace cutout::imaging
