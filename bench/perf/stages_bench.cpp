// The CPU stages around the forward pass, old path against new, interleaved run by run so both see
// the same machine load: resize to the model input, mask to image size, compose (RGBA) and flatten
// (bg_color), at 12 MP and 3 MP; then foreground estimation's cost on the same matte. Prints
// medians in milliseconds: wall time, and the process's CPU time (all threads), which a loaded
// shared machine disturbs far less than the wall clock. The old paths are kept here as they were before issue #15's "stages".
//
//   cutout-stages-bench [RUNS] [THREADS]   (defaults 7, the pool's default size)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "cutout/core/parallel.hpp"
#include "cutout/engine/pil_resize.hpp"
#include "cutout/engine/tensor_pipeline.hpp"
#include "cutout/imaging/compose.hpp"
#include "cutout/imaging/foreground.hpp"

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Photo-like colour and a model-like matte: a soft-edged subject, 0/1 elsewhere.
cv::Mat photo(int w, int h) {
  cv::Mat noise(h / 4, w / 4, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(noise, noise, {0, 0}, 3);
  cv::Mat image;
  cv::resize(noise, image, {w, h}, 0, 0, cv::INTER_CUBIC);
  return image;
}

torch::Tensor probability(int side) {
  auto y = torch::linspace(-1, 1, side).view({side, 1});
  auto x = torch::linspace(-1, 1, side).view({1, side});
  auto r = (x * x + y * y).sqrt();
  return torch::sigmoid((0.6 - r) * 40).view({1, 1, side, side}).contiguous();
}

// --- the old paths -------------------------------------------------------------------------
inline std::uint32_t div255_round(std::uint32_t x) {
  x += 128;
  return (x + (x >> 8)) >> 8;
}
cv::Mat old_compose_raw(const cv::Mat& bgr, const cv::Mat& alpha) {
  cv::Mat bgra(bgr.size(), CV_8UC4);
  const cv::Mat inputs[] = {bgr, alpha};
  const int from_to[] = {0, 0, 1, 1, 2, 2, 3, 3};
  cv::mixChannels(inputs, 2, &bgra, 1, from_to, 4);
  return bgra;
}
cv::Mat old_flatten_raw(const cv::Mat& bgr, const cv::Mat& alpha, const std::uint32_t bg[3]) {
  cv::Mat out(bgr.size(), CV_8UC3);
  const int rows = out.rows, cols = out.cols;
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* src = bgr.ptr<std::uint8_t>(y);
    const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
    std::uint8_t* dst = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < cols; ++x) {
      const std::uint32_t weight = a[x], rest = 255 - weight;
      for (int c = 0; c < 3; ++c) {
        dst[3 * x + c] = static_cast<std::uint8_t>(div255_round(src[3 * x + c] * weight + bg[c] * rest));
      }
    }
  }
  return out;
}

struct Pair {
  std::string name;
  std::function<void()> old_path, new_path;
};

void run(int w, int h, int runs) {
  const cv::Mat bgr = photo(w, h);
  const torch::Tensor hwc = torch::from_blob(const_cast<std::uint8_t*>(bgr.ptr<std::uint8_t>()),
                                             {h, w, 3}, torch::kByte);
  const torch::Tensor p = probability(1024);
  const torch::Tensor mask_t = cutout::engine::mask_to_image_size(p, h, w);
  const cv::Mat mask(h, w, CV_8UC1, mask_t.data_ptr<std::uint8_t>());
  const cutout::imaging::DecodedImage image{bgr, cv::Mat(), cutout::imaging::ImageFormat::Jpeg};
  const std::uint32_t bg[3] = {255, 255, 255};

  std::vector<Pair> pairs{
      {"resize to 1024x1024",
       [&] {
         auto x = hwc.permute({2, 0, 1}).flip({0}).contiguous();
         cutout::engine::pil_bilinear_resize(x, 1024, 1024);
       },
       [&] {
         cutout::engine::pil_bilinear_resize_interleaved(hwc.data_ptr<std::uint8_t>(), h, w, 3 * w,
                                                         true, 1024, 1024);
       }},
      {"mask 1024 -> image", [&] { cutout::engine::mask_to_image_size_with_torch(p, h, w); },
       [&] { cutout::engine::mask_to_image_size(p, h, w); }},
      {"compose rgba (raw)", [&] { old_compose_raw(bgr, mask); },
       [&] { cutout::imaging::compose_cutout(image, mask, cutout::imaging::ForegroundColour::Raw); }},
      {"flatten bg_color (raw)", [&] { old_flatten_raw(bgr, mask, bg); },
       [&] {
         cutout::imaging::flatten_onto(image, mask, {255, 255, 255},
                                       cutout::imaging::ForegroundColour::Raw);
       }},
  };
  std::printf("%dx%d (%.1f MP), %d runs, %d threads\n", w, h, w * h / 1e6, runs,
              cutout::core::parallel_threads());
  for (const Pair& pair : pairs) {
    std::vector<double> old_ms, new_ms, old_cpu, new_cpu;
    for (int i = 0; i < runs; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_ms();
      pair.old_path();
      old_cpu.push_back(cpu_ms() - c0);
      old_ms.push_back(ms_since(t0));
      t0 = std::chrono::steady_clock::now();
      c0 = cpu_ms();
      pair.new_path();
      new_cpu.push_back(cpu_ms() - c0);
      new_ms.push_back(ms_since(t0));
    }
    std::printf("  %-24s wall old %7.1f new %7.1f ms (x%.1f)   cpu old %7.1f new %7.1f ms\n",
                pair.name.c_str(), median(old_ms), median(new_ms), median(old_ms) / median(new_ms),
                median(old_cpu), median(new_cpu));
  }
  std::vector<double> fg_ms, fg_cpu;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_ms();
    cutout::imaging::estimate_foreground(bgr, mask, [](int, int, const float*) {});
    fg_cpu.push_back(cpu_ms() - c0);
    fg_ms.push_back(ms_since(t0));
  }
  std::printf("  %-24s wall %7.1f ms   cpu %7.1f ms (its own threads; sink does nothing)\n",
              "foreground estimate", median(fg_ms), median(fg_cpu));
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  if (argc > 2) cutout::core::set_parallel_threads(std::max(1, std::atoi(argv[2])));
  at::set_num_threads(cutout::core::parallel_threads());  // the old paths' ATen loops: same count
  c10::InferenceMode guard;
  run(4000, 3000, runs);
  run(2000, 1500, runs);
  return 0;
}
