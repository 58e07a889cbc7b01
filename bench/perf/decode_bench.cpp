// Decode time of a 12 MP photo-like JPEG: cutout's decode_image against what it replaced
// (cv::imdecode with IMREAD_UNCHANGED, which was the whole of the old JPEG path), interleaved so
// both see the same machine load; then decode_image on the same pixels tagged Display P3 (the
// lcms2 conversion to sRGB included); then what decode_image adds to its decoders: libjpeg alone
// (detail::decode_jpeg) against decode_image on the JPEG, and cv::imdecode against decode_image on
// a BGRA PNG of the same pixels (the split into BGR and alpha). Prints medians in milliseconds.
//
//   cutout-decode-bench [RUNS]   (default 9)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <lcms2.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/imaging/decode.hpp"
#include "imaging/jpeg_decode.hpp"

namespace {

// Smooth gradients, blurred noise and edges at 4000x3000: compresses like a photo (about 3-4 MB
// at quality 90), unlike a flat synthetic picture.
cv::Mat photo_like() {
  cv::Mat noise(750, 1000, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(noise, noise, {0, 0}, 3);
  cv::Mat image;
  cv::resize(noise, image, {4000, 3000}, 0, 0, cv::INTER_CUBIC);
  cv::Mat grain(image.size(), CV_8UC3);
  cv::randn(grain, cv::Scalar::all(0), cv::Scalar::all(6));
  image += grain;
  for (int i = 0; i < 40; ++i) {
    cv::circle(image, {(i * 397) % 4000, (i * 211) % 3000}, 40 + i * 7,
               cv::Scalar((i * 50) % 256, (i * 90) % 256, (i * 130) % 256), 3);
  }
  return image;
}

std::string with_p3_profile(std::string jpeg) {
  cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
  cmsCIExyYTRIPLE p3 = {{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}};
  const cmsFloat64Number srgb_curve[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, srgb_curve);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&d65, &p3, curves);
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(profile, nullptr, &size);
  std::string icc(size, '\0');
  cmsSaveProfileToMem(profile, icc.data(), &size);
  cmsCloseProfile(profile);
  cmsFreeToneCurve(curve);
  std::string segment = "\xFF\xE2";
  const std::size_t length = 2 + 14 + icc.size();
  segment += static_cast<char>(length >> 8);
  segment += static_cast<char>(length & 0xFF);
  segment += std::string("ICC_PROFILE\0\x01\x01", 14) + icc;
  jpeg.insert(2, segment);
  return jpeg;
}

template <typename F>
double time_ms(F&& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  std::vector<std::uint8_t> encoded;
  cv::imencode(".jpg", photo_like(), encoded, {cv::IMWRITE_JPEG_QUALITY, 90});
  const std::string jpeg(encoded.begin(), encoded.end());
  const std::string p3 = with_p3_profile(jpeg);
  const cv::Mat buffer(1, static_cast<int>(jpeg.size()), CV_8UC1, const_cast<char*>(jpeg.data()));
  const cutout::imaging::DecodeLimits limits{50'000'000};  // the service default

  std::vector<double> opencv, cutout, cutout_p3;
  for (int i = 0; i < runs; ++i) {
    opencv.push_back(time_ms([&] { cv::imdecode(buffer, cv::IMREAD_UNCHANGED); }));
    cutout.push_back(time_ms([&] { cutout::imaging::decode_image(jpeg, limits); }));
    cutout_p3.push_back(time_ms([&] { cutout::imaging::decode_image(p3, limits); }));
  }
  std::printf("4000x3000 JPEG, %zu bytes, %d runs each, median ms:\n", jpeg.size(), runs);
  std::printf("  cv::imdecode (before)        %8.1f\n", median(opencv));
  std::printf("  decode_image (after)         %8.1f\n", median(cutout));
  std::printf("  decode_image, Display P3     %8.1f\n", median(cutout_p3));

  cv::Mat bgra;
  cv::cvtColor(cutout::imaging::decode_image(jpeg, limits).bgr, bgra, cv::COLOR_BGR2BGRA);
  cv::imencode(".png", bgra, encoded, {cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_DEFAULT});
  const std::string png(encoded.begin(), encoded.end());
  const cv::Mat png_buffer(1, static_cast<int>(png.size()), CV_8UC1, const_cast<char*>(png.data()));
  std::vector<double> libjpeg, jpeg_image, png_opencv, png_image;
  for (int i = 0; i < runs; ++i) {
    libjpeg.push_back(time_ms([&] { cutout::imaging::detail::decode_jpeg(jpeg); }));
    jpeg_image.push_back(time_ms([&] { cutout::imaging::decode_image(jpeg, limits); }));
    png_opencv.push_back(time_ms([&] { cv::imdecode(png_buffer, cv::IMREAD_UNCHANGED); }));
    png_image.push_back(time_ms([&] { cutout::imaging::decode_image(png, limits); }));
  }
  std::printf("what decode_image adds (same rounds, median ms):\n");
  std::printf("  JPEG: libjpeg alone          %8.1f\n", median(libjpeg));
  std::printf("  JPEG: decode_image           %8.1f\n", median(jpeg_image));
  std::printf("  BGRA PNG (%zu bytes): cv::imdecode %8.1f\n", png.size(), median(png_opencv));
  std::printf("  BGRA PNG: decode_image       %8.1f\n", median(png_image));
  return 0;
}
