// cutout-foreground: the imaging layer's foreground estimation from the command line, for the
// quality benchmark (bench/foreground/run.py compares it with the numpy reference) and the timing
// (bench/foreground/timing.py; issue #15's bench/pipeline can fold it in).
//
//   cutout-foreground estimate IMAGE ALPHA OUT.png [--whole]
//       IMAGE: 8-bit colour, ALPHA: 8-bit grey of the same size. OUT: the image with the estimated
//       foreground where 0 < alpha < 255. --whole sweeps every level whole (no band), for checks.
//   cutout-foreground time JPEG ALPHA [--runs N] [--threads N]
//       Medians over N runs (default 9) of: one JPEG decode through OpenCV (libjpeg-turbo) on one
//       thread, the decode floor; compose_cutout with foreground raw and with estimate; the
//       estimation alone. One JSON object on stdout.

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cutout/imaging/compose.hpp"
#include "cutout/imaging/foreground.hpp"

namespace {

using cutout::imaging::ForegroundOptions;

int usage() {
  std::fprintf(stderr,
               "usage: cutout-foreground estimate IMAGE ALPHA OUT.png [--whole]\n"
               "       cutout-foreground time JPEG ALPHA [--runs N] [--threads N]\n");
  return 2;
}

cv::Mat read(const std::string& path, int flags) {
  cv::Mat m = cv::imread(path, flags);
  if (m.empty()) throw std::runtime_error("cannot read " + path);
  return m;
}

template <typename Fn>
double median_ms(int runs, Fn&& fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int estimate_command(int argc, char** argv) {
  if (argc < 5) return usage();
  const cv::Mat image = read(argv[2], cv::IMREAD_COLOR);
  const cv::Mat alpha = read(argv[3], cv::IMREAD_GRAYSCALE);
  ForegroundOptions o;
  if (argc > 5 && std::string(argv[5]) == "--whole") o.dense_pixels = INT_MAX;
  if (!cv::imwrite(argv[4], cutout::imaging::estimate_foreground(image, alpha, o))) {
    throw std::runtime_error(std::string("cannot write ") + argv[4]);
  }
  return 0;
}

int time_command(int argc, char** argv) {
  if (argc < 4) return usage();
  int runs = 9, threads = 0;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--runs") runs = std::stoi(argv[i + 1]);
    else if (flag == "--threads") threads = std::stoi(argv[i + 1]);
    else return usage();
  }
  std::ifstream file(argv[2], std::ios::binary);
  const std::vector<char> jpeg((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (jpeg.empty()) throw std::runtime_error(std::string("cannot read ") + argv[2]);
  const cv::Mat alpha = read(argv[3], cv::IMREAD_GRAYSCALE);

  cv::setNumThreads(1);  // the floor: one decode on one thread
  cutout::imaging::DecodedImage image;
  const double decode_ms = median_ms(runs, [&] {
    image.bgr = cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8UC1, const_cast<char*>(jpeg.data())),
                             cv::IMREAD_COLOR);
  });
  if (image.bgr.size() != alpha.size()) throw std::runtime_error("the alpha's size differs from the JPEG's");

  ForegroundOptions o;
  o.threads = threads;
  long long fractional = 0, estimated = 0;
  for (int y = 0; y < alpha.rows; ++y) {
    const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
    for (int x = 0; x < alpha.cols; ++x) {
      fractional += a[x] != 0 && a[x] != 255;
      estimated += a[x] > o.settled && a[x] < 255 - o.settled;
    }
  }
  cv::Mat out = image.bgr.clone();
  const double estimate_ms = median_ms(runs, [&] {
    cutout::imaging::estimate_foreground(
        image.bgr, alpha,
        [&out](int x, int y, const float f[3]) {
          std::uint8_t* px = out.ptr<std::uint8_t>(y) + 3 * x;
          for (int c = 0; c < 3; ++c) px[c] = static_cast<std::uint8_t>(f[c] * 255.0f + 0.5f);
        },
        o);
  });
  using cutout::imaging::ForegroundColour;
  const double raw_ms = median_ms(runs, [&] { cutout::imaging::compose_cutout(image, alpha, ForegroundColour::Raw); });
  const double with_ms = median_ms(runs, [&] { cutout::imaging::compose_cutout(image, alpha, ForegroundColour::Estimate); });
  std::printf(
      "{\"width\": %d, \"height\": %d, \"fractional_pixels\": %lld, \"estimated_pixels\": %lld,\n"
      " \"runs\": %d, \"threads\": %d,\n"
      " \"decode_floor_ms\": %.2f, \"estimate_ms\": %.2f, \"estimate_over_decode\": %.3f,\n"
      " \"compose_raw_ms\": %.2f, \"compose_estimate_ms\": %.2f}\n",
      alpha.cols, alpha.rows, fractional, estimated, runs, threads, decode_ms, estimate_ms, estimate_ms / decode_ms, raw_ms,
      with_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  try {
    const std::string command = argv[1];
    if (command == "estimate") return estimate_command(argc, argv);
    if (command == "time") return time_command(argc, argv);
    return usage();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cutout-foreground: %s\n", e.what());
    return 1;
  }
}
