// Multi-level foreground estimation (Germer et al., ICPR 2020): see foreground.hpp for the method
// and the choices made. The data lives in 16 x 16 tiles with a one-pixel halo, so a level can be
// swept whole or only over the tiles near fractional alpha with the same code, and the inner loop
// reads its four neighbours without bounds checks.

#include "cutout/imaging/foreground.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "cutout/core/error.hpp"
#include "cutout/core/parallel.hpp"

namespace cutout::imaging {
namespace {

constexpr int T = 16;         // tile side
constexpr int S = T + 2;      // padded side
constexpr int kPadded = S * S;
constexpr int kInterior = T * T;

// Per interior pixel: alpha and the four neighbour weights (left, right, up, down; 0 outside the
// image). The 2x2 system is rebuilt from them at each update: fewer bytes per pixel (about 50 with
// F, B and the colour) matter more than the few flops, since the big levels get only two sweeps.
constexpr int kConsts = 5;
constexpr std::size_t kTileFloats = 2 * kPadded * 3 + kInterior * kConsts;

struct Tile {
  int tx = 0, ty = 0;
  int nw = 0, nh = 0;            // interior pixels inside the image
  float* f = nullptr;            // kPadded * 3, padded layout (B, G, R in [0, 1])
  float* b = nullptr;            // the same for the background
  float* consts = nullptr;       // kInterior * kConsts
  std::uint8_t* colour = nullptr;  // kInterior * 3: the level's image
};

// Uninitialised memory for a level's tiles. Large ones ask for transparent huge pages: a 12 MP
// photo's band touches tens of MB once, and 4 KB page faults were ~15 % of a run.
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
std::unique_ptr<T[], FreeDeleter> allocate(std::size_t count) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const std::size_t bytes = std::max<std::size_t>(count * sizeof(T), 1);
  void* p = nullptr;
  if (bytes >= 2 * kHuge) {
    p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (p != nullptr) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: fine if refused
  } else {
    p = std::malloc(bytes);
  }
  if (p == nullptr) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

struct Level {
  int shift = 0, w = 0, h = 0;
  int tiles_x = 0, tiles_y = 0;
  int iterations = 0;
  std::vector<int> index;        // tiles_x * tiles_y: position in `tiles`, or -1 (not swept)
  std::vector<Tile> tiles;
  std::unique_ptr<float[], FreeDeleter> floats;  // the tiles' arrays, uninitialised: set_up fills them
  std::unique_ptr<std::uint8_t[], FreeDeleter> bytes;
};

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::Internal, "internal", "estimate_foreground: " + what);
}

// A reusable barrier (C++17 has none): the sweeps' half steps must not overlap.
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_, waiting_ = 0;
  long generation_ = 0;
};

class Estimator {
 public:
  Estimator(const cv::Mat& bgr, const cv::Mat& alpha, const ForegroundOptions& options)
      : bgr_(bgr), alpha_(alpha), o_(options), width_(bgr.cols), height_(bgr.rows) {}

  void run(const ForegroundSink& sink) {
    build_levels();
    const int threads_wanted = o_.threads > 0 ? o_.threads : core::parallel_threads();
    for (int k = static_cast<int>(levels_.size()) - 1; k >= 0; --k) {
      Level& level = levels_[k];
      // A thread per ~16 tiles at most: below that, starting one costs more than it saves.
      const int threads = std::clamp(static_cast<int>(level.tiles.size()) / 16, 1, threads_wanted);
      run_parallel(threads, [&](int part, int parts, Barrier& barrier) {
        const auto [first, last] = share(level.tiles.size(), part, parts);
        for (std::size_t t = first; t < last; ++t) set_up(k, level.tiles[t]);
        barrier.wait();
        for (std::size_t t = first; t < last; ++t) fill_frozen_halo(k, level.tiles[t]);
        for (int it = 0; it < level.iterations; ++it) {
          for (int colour = 0; colour < 2; ++colour) {
            barrier.wait();
            for (std::size_t t = first; t < last; ++t) refresh_halo(level, level.tiles[t]);
            barrier.wait();
            for (std::size_t t = first; t < last; ++t) sweep(level.tiles[t], colour);
          }
        }
      });
    }
    // Level 0 is the image itself: hand over the fractional pixels.
    Level& finest = levels_[0];
    const int threads = std::clamp(static_cast<int>(finest.tiles.size()) / 16, 1, threads_wanted);
    run_parallel(threads, [&](int part, int parts, Barrier&) {
      const auto [first, last] = share(finest.tiles.size(), part, parts);
      for (std::size_t t = first; t < last; ++t) {
        const Tile& tile = finest.tiles[t];
        for (int j = 0; j < tile.nh; ++j) {
          const int y = tile.ty * T + j;
          const std::uint8_t* a = alpha_.ptr<std::uint8_t>(y) + tile.tx * T;
          for (int i = 0; i < tile.nw; ++i) {
            if (!in_band(a[i])) continue;
            sink(tile.tx * T + i, y, &tile.f[((j + 1) * S + i + 1) * 3]);
          }
        }
      }
    });
  }

 private:
  // Runs fn on the calling thread and up to threads - 1 helpers. Helpers are counted process-wide
  // and capped at the usable CPUs minus one, so concurrent requests do not oversubscribe the
  // cores: a call that finds them taken runs on its own thread (the answer is the same).
  template <typename Fn>
  static void run_parallel(int wanted, Fn&& fn) {
    static std::atomic<int> helpers_running{0};
    // The same thread count as the shared pool (--cpu-threads, from the CPU quota); the sweeps need
    // all parts running at once (a barrier between half steps), so they cannot be pool chunks.
    const int helper_cap = core::parallel_threads() - 1;
    int taken = 0;
    for (int running = helpers_running.load(); wanted > 1;) {
      taken = std::min(wanted - 1, helper_cap - running);
      if (taken <= 0) {
        taken = 0;
        break;
      }
      if (helpers_running.compare_exchange_weak(running, running + taken)) break;
    }
    struct Release {
      int n;
      ~Release() { helpers_running -= n; }
    } release{taken};
    const int threads = taken + 1;
    Barrier barrier(threads);
    std::vector<std::thread> helpers;
    helpers.reserve(threads - 1);
    for (int part = 1; part < threads; ++part) {
      helpers.emplace_back([&, part] { fn(part, threads, barrier); });
    }
    fn(0, threads, barrier);
    for (auto& helper : helpers) helper.join();
  }

  static std::pair<std::size_t, std::size_t> share(std::size_t n, int part, int parts) {
    return {n * part / parts, n * (part + 1) / parts};
  }

  // Nearest-neighbour sampling: level k's pixel (x, y) is the full-size pixel at its block's centre.
  int sx(int k, int x) const { return std::min((x << k) + ((1 << k) >> 1), width_ - 1); }
  int sy(int k, int y) const { return std::min((y << k) + ((1 << k) >> 1), height_ - 1); }
  std::uint8_t alpha_at(int k, int x, int y) const {
    return alpha_.ptr<std::uint8_t>(sy(k, y))[sx(k, x)];
  }

  // Alpha strictly between the settled ends: the pixels estimated, and the band's seeds.
  bool in_band(std::uint8_t a) const { return a > o_.settled && a < 255 - o_.settled; }

  // Which tiles each level sweeps. Seeds: tiles with fractional alpha on that level, and the
  // parents of the finer level's seeds; swept: the seeds grown by `grow` tiles.
  void build_levels() {
    int levels = 1;
    while (std::max((width_ + (1 << (levels - 1)) - 1) >> (levels - 1),
                    (height_ + (1 << (levels - 1)) - 1) >> (levels - 1)) > 1) {
      ++levels;
    }
    levels_.resize(levels);
    // How far a level's result depends on values around it: 2 pixels per sweep, and what a level
    // needs from the one above halves there (foreground.hpp). 4n + 4 pixels covers both.
    const int grow = (4 * o_.big_iterations + 4 + T - 1) / T;
    std::vector<std::uint8_t> finer_seeds;
    int finer_tiles_x = 0, finer_tiles_y = 0;
    for (int k = 0; k < levels; ++k) {
      Level& level = levels_[k];
      level.shift = k;
      level.w = (width_ + (1 << k) - 1) >> k;
      level.h = (height_ + (1 << k) - 1) >> k;
      level.tiles_x = (level.w + T - 1) / T;
      level.tiles_y = (level.h + T - 1) / T;
      const bool small = std::max(level.w, level.h) <= o_.small_size;
      level.iterations = level.w * level.h == 1 ? 0 : small ? o_.small_iterations : o_.big_iterations;
      const bool dense =
          small || static_cast<long long>(level.w) * level.h <= o_.dense_pixels;
      const std::size_t n_tiles = static_cast<std::size_t>(level.tiles_x) * level.tiles_y;
      std::vector<std::uint8_t> seeds(n_tiles, 0);
      if (!dense) {
        mark_fractional_tiles(k, level, seeds);
        for (int ty = 0; ty < finer_tiles_y; ++ty) {
          for (int tx = 0; tx < finer_tiles_x; ++tx) {
            if (finer_seeds[ty * finer_tiles_x + tx]) seeds[(ty >> 1) * level.tiles_x + (tx >> 1)] = 1;
          }
        }
      }
      level.index.assign(n_tiles, -1);
      int count = 0;
      for (int ty = 0; ty < level.tiles_y; ++ty) {
        for (int tx = 0; tx < level.tiles_x; ++tx) {
          bool swept = dense;
          for (int dy = -grow; dy <= grow && !swept; ++dy) {
            for (int dx = -grow; dx <= grow && !swept; ++dx) {
              const int nx = tx + dx, ny = ty + dy;
              swept = nx >= 0 && ny >= 0 && nx < level.tiles_x && ny < level.tiles_y &&
                      seeds[ny * level.tiles_x + nx];
            }
          }
          if (swept) level.index[ty * level.tiles_x + tx] = count++;
        }
      }
      level.tiles.resize(count);
      level.floats = allocate<float>(kTileFloats * count);
      level.bytes = allocate<std::uint8_t>(static_cast<std::size_t>(kInterior) * 3 * count);
      for (int ty = 0; ty < level.tiles_y; ++ty) {
        for (int tx = 0; tx < level.tiles_x; ++tx) {
          const int at = level.index[ty * level.tiles_x + tx];
          if (at < 0) continue;
          Tile& tile = level.tiles[at];
          tile.tx = tx;
          tile.ty = ty;
          tile.nw = std::min(T, level.w - tx * T);
          tile.nh = std::min(T, level.h - ty * T);
          tile.f = &level.floats[kTileFloats * at];
          tile.b = tile.f + kPadded * 3;
          tile.consts = tile.b + kPadded * 3;
          tile.colour = &level.bytes[static_cast<std::size_t>(kInterior) * 3 * at];
        }
      }
      finer_seeds = std::move(seeds);
      finer_tiles_x = level.tiles_x;
      finer_tiles_y = level.tiles_y;
    }
  }

  // One pass over the level's alpha samples; on level 0, over the whole matte (a byte per pixel).
  void mark_fractional_tiles(int k, const Level& level, std::vector<std::uint8_t>& seeds) const {
    const std::uint8_t lo = static_cast<std::uint8_t>(o_.settled), span = static_cast<std::uint8_t>(254 - 2 * o_.settled);
    // lo < a < 255 - lo, as one unsigned compare: (a - lo - 1) mod 256 < 254 - 2 lo.
    const auto in = [lo, span](std::uint8_t a) -> std::uint8_t {
      return static_cast<std::uint8_t>(a - lo - 1) < span;
    };
    // Tile rows split across the shared pool: each writes only its own seeds, and a seed is an
    // OR over its pixels, so the split changes nothing. On level 0 this is a full-size pass.
    core::parallel_for(0, level.tiles_y, std::max(1, 4096 / std::max(level.w, 1)),
                       [&](std::int64_t ty_begin, std::int64_t ty_end) {
      const int y_end = std::min(level.h, static_cast<int>(ty_end) * T);
      for (int y = static_cast<int>(ty_begin) * T; y < y_end; ++y) {
        const std::uint8_t* row = alpha_.ptr<std::uint8_t>(sy(k, y));
        std::uint8_t* tile_row = &seeds[static_cast<std::size_t>(y / T) * level.tiles_x];
        for (int tx = 0; tx < level.tiles_x; ++tx) {
          if (tile_row[tx]) continue;
          const int x_end = std::min(level.w, (tx + 1) * T);
          std::uint8_t any = 0;
          if (k == 0) {
            for (int x = tx * T; x < x_end; ++x) any |= in(row[x]);
          } else {
            for (int x = tx * T; x < x_end; ++x) any |= in(row[sx(k, x)]);
          }
          tile_row[tx] = any;
        }
      }
    });
  }

  // F at level k's pixel (x, y): the tile's own value if the level sweeps it, else the coarser
  // level's value upsampled (the coarsest level is always swept whole).
  const float* value_at(int k, int x, int y, bool background) const {
    for (;; ++k, x >>= 1, y >>= 1) {
      const Level& level = levels_[k];
      const int at = level.index[(y / T) * level.tiles_x + x / T];
      if (at < 0) continue;
      const Tile& tile = level.tiles[at];
      const int p = ((y % T) + 1) * S + (x % T) + 1;
      return &(background ? tile.b : tile.f)[p * 3];
    }
  }

  // The tile's alpha, colour, neighbour weights and starting F and B. Alpha is gathered once with
  // a one-pixel border (NaN outside the image: its weight becomes 0).
  void set_up(int k, Tile& tile) const {
    const Level& level = levels_[k];
    std::fill(tile.f, tile.f + 2 * kPadded * 3, 0.0f);  // halo and off-image cells: read with weight 0
    std::fill(tile.consts, tile.consts + kInterior * kConsts, 0.0f);
    const int x0 = tile.tx * T, y0 = tile.ty * T;
    int cols[S];
    for (int i = 0; i < S; ++i) {
      const int x = x0 + i - 1;
      cols[i] = x < 0 || x >= level.w ? -1 : sx(k, x);
    }
    float alpha[kPadded];
    for (int j = 0; j < S; ++j) {
      const int y = y0 + j - 1;
      if (y < 0 || y >= level.h) {
        std::fill(alpha + j * S, alpha + (j + 1) * S, -1.0f);
        continue;
      }
      const std::uint8_t* row = alpha_.ptr<std::uint8_t>(sy(k, y));
      for (int i = 0; i < S; ++i) alpha[j * S + i] = cols[i] < 0 ? -1.0f : row[cols[i]] * (1.0f / 255.0f);
    }
    const float eps = o_.regularization, omega = o_.gradient_weight;
    const auto weight = [&](float a, float neighbour) {
      return neighbour < 0 ? 0.0f : eps + omega * std::fabs(a - neighbour);
    };
    for (int j = 0; j < tile.nh; ++j) {
      const std::uint8_t* colour_row = bgr_.ptr<std::uint8_t>(sy(k, y0 + j));
      for (int i = 0; i < tile.nw; ++i) {
        const int q = (j + 1) * S + i + 1;
        const float a = alpha[q];
        float* c = &tile.consts[(j * T + i) * kConsts];
        c[0] = weight(a, alpha[q - 1]);
        c[1] = weight(a, alpha[q + 1]);
        c[2] = weight(a, alpha[q - S]);
        c[3] = weight(a, alpha[q + S]);
        c[4] = a;
        const std::uint8_t* px = colour_row + 3 * cols[i + 1];
        std::uint8_t* own = &tile.colour[(j * T + i) * 3];
        own[0] = px[0];
        own[1] = px[1];
        own[2] = px[2];
      }
    }
    if (k + 1 == static_cast<int>(levels_.size())) {  // the coarsest level: F = B = the colour
      for (int j = 0; j < tile.nh; ++j) {
        for (int i = 0; i < tile.nw; ++i) {
          const int p = ((j + 1) * S + i + 1) * 3;
          for (int ch = 0; ch < 3; ++ch) {
            tile.f[p + ch] = tile.b[p + ch] = tile.colour[(j * T + i) * 3 + ch] / 255.0f;
          }
        }
      }
      return;
    }
    // Upsampled from the coarser level: the whole tile falls in one parent tile.
    const Level& coarser = levels_[k + 1];
    const int parent = coarser.index[(tile.ty >> 1) * coarser.tiles_x + (tile.tx >> 1)];
    const int ox = (tile.tx & 1) * (T / 2), oy = (tile.ty & 1) * (T / 2);
    for (int j = 0; j < tile.nh; ++j) {
      for (int i = 0; i < tile.nw; ++i) {
        const int p = ((j + 1) * S + i + 1) * 3;
        if (parent >= 0) {
          const Tile& from = coarser.tiles[parent];
          const int pp = ((oy + (j >> 1) + 1) * S + ox + (i >> 1) + 1) * 3;
          copy3(&from.f[pp], &tile.f[p]);
          copy3(&from.b[pp], &tile.b[p]);
        } else {
          copy3(value_at(k + 1, (x0 + i) >> 1, (y0 + j) >> 1, false), &tile.f[p]);
          copy3(value_at(k + 1, (x0 + i) >> 1, (y0 + j) >> 1, true), &tile.b[p]);
        }
      }
    }
  }

  static void copy3(const float* from, float* to) {
    to[0] = from[0];
    to[1] = from[1];
    to[2] = from[2];
  }

  // Halo cells whose neighbour tile is not swept hold that tile's fixed (upsampled) values.
  void fill_frozen_halo(int k, Tile& tile) const {
    const Level& level = levels_[k];
    const auto frozen = [&](int p, int x, int y) {
      if (x < 0 || y < 0 || x >= level.w || y >= level.h) return;
      if (level.index[(y / T) * level.tiles_x + x / T] >= 0) return;
      copy3(value_at(k, x, y, false), &tile.f[p * 3]);
      copy3(value_at(k, x, y, true), &tile.b[p * 3]);
    };
    const int x0 = tile.tx * T, y0 = tile.ty * T;
    for (int j = 0; j < T; ++j) {
      frozen((j + 1) * S, x0 - 1, y0 + j);
      frozen((j + 1) * S + tile.nw + 1, x0 + tile.nw, y0 + j);
    }
    for (int i = 0; i < T; ++i) {
      frozen(i + 1, x0 + i, y0 - 1);
      frozen((tile.nh + 1) * S + i + 1, x0 + i, y0 + tile.nh);
    }
  }

  // Halo cells next to swept tiles: copied from their edge rows and columns.
  static void refresh_halo(const Level& level, Tile& tile) {
    const auto neighbour = [&](int tx, int ty) -> const Tile* {
      if (tx < 0 || ty < 0 || tx >= level.tiles_x || ty >= level.tiles_y) return nullptr;
      const int at = level.index[ty * level.tiles_x + tx];
      return at < 0 ? nullptr : &level.tiles[at];
    };
    const auto copy = [&](const Tile& from, int from_p, int to_p) {
      copy3(&from.f[from_p * 3], &tile.f[to_p * 3]);
      copy3(&from.b[from_p * 3], &tile.b[to_p * 3]);
    };
    if (const Tile* left = neighbour(tile.tx - 1, tile.ty)) {
      for (int j = 0; j < tile.nh; ++j) copy(*left, (j + 1) * S + T, (j + 1) * S);
    }
    if (const Tile* right = neighbour(tile.tx + 1, tile.ty)) {
      for (int j = 0; j < tile.nh; ++j) copy(*right, (j + 1) * S + 1, (j + 1) * S + T + 1);
    }
    if (const Tile* up = neighbour(tile.tx, tile.ty - 1)) {
      for (int i = 0; i < tile.nw; ++i) copy(*up, T * S + i + 1, i + 1);
    }
    if (const Tile* down = neighbour(tile.tx, tile.ty + 1)) {
      for (int i = 0; i < tile.nw; ++i) copy(*down, S + i + 1, (T + 1) * S + i + 1);
    }
  }

  // One half sweep: every pixel of one colour of the checkerboard solves its 2x2 system.
  void sweep(Tile& tile, int colour) const {
    float* f = tile.f;
    float* b = tile.b;
    const int parity = (tile.tx * T + tile.ty * T + colour) & 1;
    for (int j = 0; j < tile.nh; ++j) {
      for (int i = (j + parity) & 1; i < tile.nw; i += 2) {
        const float* c = &tile.consts[(j * T + i) * kConsts];
        const std::uint8_t* own = &tile.colour[(j * T + i) * 3];
        const float a = c[4], sum = c[0] + c[1] + c[2] + c[3];
        const float a00 = a * a + sum, a11 = (1 - a) * (1 - a) + sum, a01 = a * (1 - a);
        const float inv = 1.0f / (a00 * a11 - a01 * a01);
        const int p = ((j + 1) * S + i + 1) * 3;
        const int l = p - 3, r = p + 3, u = p - 3 * S, d = p + 3 * S;
        for (int ch = 0; ch < 3; ++ch) {
          const float sf = c[0] * f[l + ch] + c[1] * f[r + ch] + c[2] * f[u + ch] + c[3] * f[d + ch];
          const float sb = c[0] * b[l + ch] + c[1] * b[r + ch] + c[2] * b[u + ch] + c[3] * b[d + ch];
          const float image = own[ch] / 255.0f;
          const float b0 = a * image + sf, b1 = (1 - a) * image + sb;
          f[p + ch] = std::clamp((a11 * b0 - a01 * b1) * inv, 0.0f, 1.0f);
          b[p + ch] = std::clamp((a00 * b1 - a01 * b0) * inv, 0.0f, 1.0f);
        }
      }
    }
  }

  const cv::Mat& bgr_;
  const cv::Mat& alpha_;
  const ForegroundOptions o_;
  const int width_, height_;
  std::vector<Level> levels_;
};

}  // namespace

void estimate_foreground(const cv::Mat& bgr, const cv::Mat& alpha, const ForegroundSink& sink,
                         const ForegroundOptions& options) {
  if (bgr.type() != CV_8UC3) fail("the image is not 8-bit BGR");
  if (alpha.type() != CV_8UC1) fail("the alpha is not 8-bit single-channel");
  if (alpha.size() != bgr.size()) fail("the alpha's size differs from the image's");
  if (options.small_iterations < 0 || options.big_iterations < 0 || options.small_size < 0 ||
      !(options.regularization > 0) || !(options.gradient_weight >= 0) || options.settled < 0 ||
      options.settled > 126) {
    fail("iterations and sizes must be >= 0, regularization > 0, gradient_weight >= 0, "
         "0 <= settled <= 126");
  }
  if (bgr.empty()) return;
  Estimator(bgr, alpha, options).run(sink);
}

cv::Mat estimate_foreground(const cv::Mat& bgr, const cv::Mat& alpha,
                            const ForegroundOptions& options) {
  cv::Mat out = bgr.clone();
  estimate_foreground(
      bgr, alpha,
      [&out](int x, int y, const float colour[3]) {
        std::uint8_t* px = out.ptr<std::uint8_t>(y) + 3 * x;
        for (int ch = 0; ch < 3; ++ch) px[ch] = static_cast<std::uint8_t>(colour[ch] * 255.0f + 0.5f);
      },
      options);
  return out;
}

}  // namespace cutout::imaging
