// Encode time and size of a photo cut-out at 12 MP and 3 MP: cutout's encoders against what they
// replaced, and the WebP and JPEG settings the choice in src/imaging/encode.cpp was made from.
// Rounds interleave every variant so all see the same machine load; prints medians (ms) and sizes.
//
//   cutout-encode-bench PHOTO.jpg [RUNS] [FORMATS] [THREADS...]
//   (defaults: 5 runs, png,webp,jpeg, threads 1 and 2)
//
// The cut-out: the photo decoded by decode_image, a soft elliptic matte (a subject in the middle,
// 0 outside, a 2% ramp at the edge) composed with compose_cutout; the flattened picture for JPEG is
// the same over white. docs/performance.md, "Encode".

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <jpeglib.h>
#include <sys/resource.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <webp/encode.h>

#include "cutout/core/parallel.hpp"
#include "cutout/imaging/compose.hpp"
#include "cutout/imaging/decode.hpp"
#include "cutout/imaging/encode.hpp"
#include "imaging/png_encode.hpp"

namespace {

using namespace cutout::imaging;

double time_ms(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the whole process (every thread), in ms: unlike wall time, it does not depend on how
// busy the machine is, so it shows what a variant costs when the wall clock is blurred by load.
double cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

cv::Mat elliptic_matte(cv::Size size) {
  cv::Mat mask(size, CV_8UC1);
  const double cx = size.width / 2.0, cy = size.height / 2.0;
  for (int y = 0; y < size.height; ++y) {
    auto* row = mask.ptr<unsigned char>(y);
    for (int x = 0; x < size.width; ++x) {
      const double dx = (x - cx) / (0.35 * size.width), dy = (y - cy) / (0.42 * size.height);
      const double r = std::sqrt(dx * dx + dy * dy);  // 1 on the ellipse
      row[x] = static_cast<unsigned char>(std::clamp((1.0 - r) / 0.02, 0.0, 1.0) * 255.0 + 0.5);
    }
  }
  return mask;
}

// OpenCV's PNG path as encode.cpp used it before the strips: SUB filter, zlib level 1.
std::string opencv_png(const cv::Mat& image) {
  std::vector<uchar> out;
  cv::imencode(".png", image, out, {cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_DEFAULT});
  return std::string(out.begin(), out.end());
}

std::string opencv_encode(const cv::Mat& image, const char* ext, std::vector<int> params) {
  std::vector<uchar> out;
  cv::imencode(ext, image, out, params);
  return std::string(out.begin(), out.end());
}

struct WebpSetting {
  int method;
  int thread_level;
  int alpha_filtering;
};

std::string webp(const cv::Mat& bgra, float quality, const WebpSetting& s) {
  WebPConfig config;
  WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, quality);
  config.method = s.method;
  config.thread_level = s.thread_level;
  config.alpha_filtering = s.alpha_filtering;
  WebPPicture picture;
  WebPPictureInit(&picture);
  picture.width = bgra.cols;
  picture.height = bgra.rows;
  WebPPictureImportBGRA(&picture, bgra.data, static_cast<int>(bgra.step[0]));
  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  picture.writer = WebPMemoryWrite;
  picture.custom_ptr = &writer;
  WebPEncode(&config, &picture);
  std::string out(reinterpret_cast<const char*>(writer.mem), writer.size);
  WebPMemoryWriterClear(&writer);
  WebPPictureFree(&picture);
  return out;
}

std::string jpeg(const cv::Mat& bgr, int quality, J_DCT_METHOD dct) {
  jpeg_compress_struct c{};
  jpeg_error_mgr errors{};
  c.err = jpeg_std_error(&errors);
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = static_cast<JDIMENSION>(bgr.cols);
  c.image_height = static_cast<JDIMENSION>(bgr.rows);
  c.input_components = 3;
  c.in_color_space = JCS_EXT_BGR;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  c.dct_method = dct;
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<unsigned char*>(bgr.ptr<unsigned char>(static_cast<int>(c.next_scanline)));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&c);
  std::free(buffer);
  return out;
}

struct Variant {
  Variant(std::string n, std::function<std::string()> r, int t = 0)
      : name(std::move(n)), run(std::move(r)), threads(t) {}
  std::string name;
  std::function<std::string()> run;
  int threads;  // pool size for this variant; 0: leave it
  std::vector<double> ms, cpu;
  std::size_t bytes = 0;
};

void bench(const char* title, std::vector<Variant>& variants, int runs) {
  for (int i = 0; i < runs; ++i) {
    for (Variant& v : variants) {
      if (v.threads > 0) cutout::core::set_parallel_threads(v.threads);
      std::string out;
      const double cpu_before = cpu_ms();
      v.ms.push_back(time_ms([&] { out = v.run(); }));
      v.cpu.push_back(cpu_ms() - cpu_before);
      v.bytes = out.size();
    }
  }
  std::printf("%s (%d runs, medians: wall ms, CPU ms of all threads, bytes)\n", title, runs);
  for (const Variant& v : variants) {
    std::printf("  %-48s %8.1f ms %8.1f cpu %11zu B\n", v.name.c_str(), median(v.ms), median(v.cpu),
                v.bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cutout-encode-bench PHOTO.jpg [RUNS] [FORMATS] [THREADS...]\n");
    return 2;
  }
  std::ifstream file(argv[1], std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  std::vector<int> thread_counts;
  const std::string formats = argc > 3 ? argv[3] : "png,webp,jpeg";
  for (int i = 4; i < argc; ++i) thread_counts.push_back(std::max(1, std::atoi(argv[i])));
  if (thread_counts.empty()) thread_counts = {1, 2};

  const DecodedImage full = decode_image(bytes, DecodeLimits{50'000'000});
  for (const double scale : {1.0, 0.5}) {
    DecodedImage image = full;
    if (scale != 1.0) cv::resize(full.bgr, image.bgr, {}, scale, scale, cv::INTER_AREA);
    const cv::Mat mask = elliptic_matte(image.bgr.size());
    const cv::Mat cutout = compose_cutout(image, mask, ForegroundColour::Raw);
    const cv::Mat flat = flatten_onto(image, mask, Rgb{255, 255, 255}, ForegroundColour::Raw);
    const std::string size =
        std::to_string(cutout.cols) + "x" + std::to_string(cutout.rows);
    std::printf("\n== %s photo cut-out ==\n", size.c_str());

    if (formats.find("png") != std::string::npos) {
    std::vector<Variant> png;
    png.push_back({"opencv SUB L1 (before)", [&] { return opencv_png(cutout); }});
    for (const int t : thread_counts) {
      png.push_back({"strips SUB L1, " + std::to_string(t) + " threads",
                     [&] { return encode_image(cutout, OutputFormat::Png, EncodeOptions{}); }, t});
    }
    png.push_back({"opencv SUB L1 mask (before)", [&] { return opencv_png(mask); }});
    png.push_back({"strips SUB L1 mask, " + std::to_string(thread_counts.back()) + " threads",
                   [&] { return encode_image(mask, OutputFormat::Png, EncodeOptions{}); },
                   thread_counts.back()});
    png.push_back({"one stream SUB L1 (strips of the whole image)",
                   [&] { return detail::encode_png(cutout, 1, SIZE_MAX); }, 1});
    bench(("PNG " + size).c_str(), png, runs);
    }
    if (formats.find("webp") != std::string::npos) {
    std::vector<Variant> webps;
    webps.push_back({"opencv q90 (before: method 4, threads 0)",
                     [&] { return opencv_encode(cutout, ".webp", {cv::IMWRITE_WEBP_QUALITY, 90}); }});
    for (const WebpSetting s : {WebpSetting{4, 0, 1}, WebpSetting{4, 1, 1}, WebpSetting{3, 1, 1},
                                WebpSetting{2, 1, 1}, WebpSetting{1, 1, 1}, WebpSetting{0, 1, 1},
                                WebpSetting{0, 0, 1}, WebpSetting{0, 1, 0}, WebpSetting{2, 1, 0}}) {
      webps.push_back({"libwebp q90 method " + std::to_string(s.method) + " threads " +
                           std::to_string(s.thread_level) + " alpha_filter " +
                           std::to_string(s.alpha_filtering),
                       [&, s] { return webp(cutout, 90, s); }});
    }
    bench(("WebP " + size).c_str(), webps, runs);
    }
    if (formats.find("jpeg") != std::string::npos) {
    std::vector<Variant> jpegs;
    jpegs.push_back({"opencv q90 (before)",
                     [&] { return opencv_encode(flat, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}); }});
    jpegs.push_back({"libjpeg q90 islow", [&] { return jpeg(flat, 90, JDCT_ISLOW); }});
    jpegs.push_back({"libjpeg q90 ifast", [&] { return jpeg(flat, 90, JDCT_IFAST); }});
    jpegs.push_back({"libjpeg q85 islow", [&] { return jpeg(flat, 85, JDCT_ISLOW); }});
    bench(("JPEG " + size + " over white").c_str(), jpegs, runs);
    }
  }
  return 0;
}
