#include "cutout/imaging/foreground.hpp"

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

const cv::Vec3b kForeground(30, 140, 220);  // B, G, R
const cv::Vec3b kBackground(200, 60, 10);

// An alpha that ramps from 0 to 255 over `width` columns starting at column `from`.
cv::Mat ramp_alpha(int cols, int rows, int from, int width) {
  cv::Mat alpha(rows, cols, CV_8UC1);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      const double t = std::clamp((x - from + 0.5) / width, 0.0, 1.0);
      alpha.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(std::lround(255 * t));
    }
  }
  return alpha;
}

// What a camera records: alpha * F + (1 - alpha) * B, rounded to 8 bits.
cv::Mat composite(const cv::Mat& alpha, cv::Vec3b fg, cv::Vec3b bg) {
  cv::Mat image(alpha.size(), CV_8UC3);
  for (int y = 0; y < alpha.rows; ++y) {
    for (int x = 0; x < alpha.cols; ++x) {
      const double a = alpha.at<std::uint8_t>(y, x) / 255.0;
      for (int c = 0; c < 3; ++c) {
        image.at<cv::Vec3b>(y, x)[c] = static_cast<std::uint8_t>(std::lround(a * fg[c] + (1 - a) * bg[c]));
      }
    }
  }
  return image;
}

// The largest error on pixels with settled < alpha < 255 - settled.
int worst_error_on_fractional(const cv::Mat& estimate, const cv::Mat& alpha, cv::Vec3b truth, int settled = 0) {
  int worst = 0;
  for (int y = 0; y < alpha.rows; ++y) {
    for (int x = 0; x < alpha.cols; ++x) {
      const int a = alpha.at<std::uint8_t>(y, x);
      if (a <= settled || a >= 255 - settled) continue;
      for (int c = 0; c < 3; ++c) {
        worst = std::max(worst, std::abs(estimate.at<cv::Vec3b>(y, x)[c] - truth[c]));
      }
    }
  }
  return worst;
}

// Every fractional pixel with its estimate, as floats: for exact comparisons.
cv::Mat estimate_as_floats(const cv::Mat& bgr, const cv::Mat& alpha, const ForegroundOptions& o) {
  cv::Mat out(bgr.size(), CV_32FC3, cv::Scalar(-1, -1, -1));
  estimate_foreground(
      bgr, alpha,
      [&](int x, int y, const float f[3]) { out.at<cv::Vec3f>(y, x) = cv::Vec3f(f[0], f[1], f[2]); },
      o);
  return out;
}

bool identical(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() &&
         std::memcmp(a.data, b.data, a.total() * a.elemSize()) == 0;
}

TEST(EstimateForeground, FlatForegroundOverFlatBackgroundComesBackExact) {
  // Soft ramps of several widths, including one with every alpha value from 1 to 254.
  ForegroundOptions every_fractional_pixel;
  every_fractional_pixel.settled = 0;
  for (const int width : {3, 8, 40, 255}) {
    const cv::Mat alpha = ramp_alpha(width + 160, 50, 80, width);
    const cv::Mat image = composite(alpha, kForeground, kBackground);
    const cv::Mat estimate = estimate_foreground(image, alpha, every_fractional_pixel);
    EXPECT_LE(worst_error_on_fractional(estimate, alpha, kForeground), 1) << "ramp width " << width;
  }
}

TEST(EstimateForeground, SettledEndsKeepTheirColourTheRestComesBackExact) {
  const cv::Mat alpha = ramp_alpha(415, 30, 80, 255);
  const cv::Mat image = composite(alpha, kForeground, kBackground);
  const cv::Mat estimate = estimate_foreground(image, alpha);  // settled = 8
  EXPECT_LE(worst_error_on_fractional(estimate, alpha, kForeground, 8), 1);
  for (int x = 0; x < alpha.cols; ++x) {
    const int a = alpha.at<std::uint8_t>(0, x);
    if (a <= 8 || a >= 247) {
      ASSERT_EQ(estimate.at<cv::Vec3b>(0, x), image.at<cv::Vec3b>(0, x)) << "alpha " << a;
    }
  }
}

TEST(EstimateForeground, SoftDiscOnALargeImageComesBackExact) {
  // 900 x 700 is over the dense limit: the finest levels sweep only the band near the edge.
  cv::Mat alpha(700, 900, CV_8UC1, cv::Scalar(0));
  cv::circle(alpha, {430, 360}, 250, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  cv::GaussianBlur(alpha, alpha, {0, 0}, 3.0);
  const cv::Mat image = composite(alpha, kForeground, kBackground);
  EXPECT_LE(worst_error_on_fractional(estimate_foreground(image, alpha), alpha, kForeground, 8), 1);
}

TEST(EstimateForeground, RemovesTheBackgroundTheRawColoursCarry) {
  const cv::Mat alpha = ramp_alpha(120, 20, 40, 40);
  const cv::Mat image = composite(alpha, kForeground, kBackground);
  // The raw colour at alpha ~ 0.5 is half background: the test above would fail on it.
  EXPECT_GT(worst_error_on_fractional(image, alpha, kForeground), 80);
}

TEST(EstimateForeground, OpaqueAndTransparentPixelsKeepTheirColour) {
  const cv::Mat image = cutout::testing::make_picture(300, 200);
  cv::Mat alpha(200, 300, CV_8UC1);
  cv::randu(alpha, 0, 256);
  alpha(cv::Rect(0, 0, 150, 200)).setTo(0);
  alpha(cv::Rect(200, 50, 100, 100)).setTo(255);
  const cv::Mat estimate = estimate_foreground(image, alpha);
  ForegroundOptions o;
  o.settled = 0;
  const cv::Mat every = estimate_foreground(image, alpha, o);
  int fractional_changed = 0;
  for (int y = 0; y < 200; ++y) {
    for (int x = 0; x < 300; ++x) {
      const int a = alpha.at<std::uint8_t>(y, x);
      if (a == 0 || a == 255) {
        ASSERT_EQ(estimate.at<cv::Vec3b>(y, x), image.at<cv::Vec3b>(y, x)) << x << "," << y;
        ASSERT_EQ(every.at<cv::Vec3b>(y, x), image.at<cv::Vec3b>(y, x)) << x << "," << y;
      } else {
        fractional_changed += estimate.at<cv::Vec3b>(y, x) != image.at<cv::Vec3b>(y, x);
      }
    }
  }
  EXPECT_GT(fractional_changed, 0);
}

TEST(EstimateForeground, CallsTheSinkOncePerFractionalPixel) {
  cv::Mat alpha(300, 400, CV_8UC1);
  cv::randu(alpha, 0, 256);
  alpha(cv::Rect(0, 0, 400, 200)).setTo(255);
  const cv::Mat image = cutout::testing::make_picture(400, 300);
  cv::Mat calls(alpha.size(), CV_32SC1, cv::Scalar(0));
  std::mutex mutex;
  ForegroundOptions o;
  o.dense_pixels = 1000;  // band mode from the third level on
  o.settled = 3;
  estimate_foreground(
      image, alpha,
      [&](int x, int y, const float f[3]) {
        std::lock_guard<std::mutex> lock(mutex);
        ++calls.at<int>(y, x);
        for (int c = 0; c < 3; ++c) EXPECT_TRUE(f[c] >= 0.0f && f[c] <= 1.0f);
      },
      o);
  for (int y = 0; y < 300; ++y) {
    for (int x = 0; x < 400; ++x) {
      const int a = alpha.at<std::uint8_t>(y, x);
      ASSERT_EQ(calls.at<int>(y, x), (a <= 3 || a >= 252) ? 0 : 1) << x << "," << y;
    }
  }
}

TEST(EstimateForeground, DeterministicWhateverTheThreads) {
  const cv::Mat image = cutout::testing::make_picture(700, 500);
  cv::Mat alpha(500, 700, CV_8UC1, cv::Scalar(0));
  cv::ellipse(alpha, {350, 250}, {220, 160}, 20, 0, 360, cv::Scalar(255), cv::FILLED);
  cv::GaussianBlur(alpha, alpha, {0, 0}, 4.0);
  ForegroundOptions o;
  o.threads = 1;
  const cv::Mat one = estimate_as_floats(image, alpha, o);
  for (const int threads : {1, 2, 3, 8}) {
    o.threads = threads;
    EXPECT_TRUE(identical(estimate_as_floats(image, alpha, o), one)) << threads << " threads";
  }
}

// Requests run it at once: helper threads are shared process-wide, each call gets what is free,
// and every call still gets the same answer.
TEST(EstimateForeground, ConcurrentCallsShareTheCoresAndAgree) {
  const cv::Mat image = cutout::testing::make_picture(500, 400);
  cv::Mat alpha(400, 500, CV_8UC1, cv::Scalar(0));
  cv::circle(alpha, {250, 200}, 150, cv::Scalar(255), cv::FILLED);
  cv::GaussianBlur(alpha, alpha, {0, 0}, 5.0);
  ForegroundOptions o;
  o.threads = 1;
  const cv::Mat expected = estimate_as_floats(image, alpha, o);
  o.threads = 0;
  std::vector<cv::Mat> results(6);
  std::vector<std::thread> callers;
  for (auto& result : results) {
    callers.emplace_back([&] { result = estimate_as_floats(image, alpha, o); });
  }
  for (auto& caller : callers) caller.join();
  for (const auto& result : results) EXPECT_TRUE(identical(result, expected));
}

// The band is an optimisation, not an approximation: sweeping every tile of every level gives
// the same bits at the pixels that come out.
TEST(EstimateForeground, BandGivesTheSameResultAsSweepingWholeLevels) {
  const cv::Mat image = cutout::testing::make_picture(600, 400);
  cv::Mat alpha(400, 600, CV_8UC1, cv::Scalar(0));
  cv::circle(alpha, {200, 200}, 120, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  cv::line(alpha, {380, 30}, {590, 380}, cv::Scalar(128), 1);  // a thin strand, far from the disc
  cv::GaussianBlur(alpha, alpha, {0, 0}, 1.5);
  for (const int iterations : {1, 2, 3, 5}) {
    ForegroundOptions banded, whole;
    banded.settled = whole.settled = 0;
    banded.big_iterations = whole.big_iterations = iterations;
    banded.dense_pixels = 4096;
    whole.dense_pixels = INT_MAX;
    EXPECT_TRUE(identical(estimate_as_floats(image, alpha, banded), estimate_as_floats(image, alpha, whole)))
        << iterations << " iterations";
  }
}

TEST(EstimateForeground, TinyAndThinImages) {
  for (const cv::Size size : {cv::Size(1, 1), cv::Size(1, 37), cv::Size(53, 1), cv::Size(2, 2), cv::Size(17, 33)}) {
    const cv::Mat image = cutout::testing::make_picture(size.width, size.height);
    const cv::Mat alpha(size, CV_8UC1, cv::Scalar(100));
    const cv::Mat estimate = estimate_foreground(image, alpha);
    ASSERT_EQ(estimate.size(), size);
    if (size.area() == 1) {
      EXPECT_EQ(estimate.at<cv::Vec3b>(0, 0), image.at<cv::Vec3b>(0, 0));
    }
  }
  const cv::Mat empty_image(0, 0, CV_8UC3), empty_alpha(0, 0, CV_8UC1);
  EXPECT_TRUE(estimate_foreground(empty_image, empty_alpha).empty());
}

TEST(EstimateForeground, WorksOnViews) {
  const cv::Mat big_image = cutout::testing::make_picture(300, 200);
  cv::Mat big_alpha(200, 300, CV_8UC1);
  cv::randu(big_alpha, 0, 256);
  const cv::Rect roi(7, 5, 120, 90);
  EXPECT_TRUE(identical(estimate_foreground(big_image(roi), big_alpha(roi)),
                        estimate_foreground(big_image(roi).clone(), big_alpha(roi).clone())));
}

TEST(EstimateForeground, BadInputsAreInternalErrors) {
  const cv::Mat image = cutout::testing::make_picture(8, 6);
  const auto expect_internal = [](auto&& call) {
    try {
      call();
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Internal);
    }
  };
  expect_internal([&] { estimate_foreground(image, cv::Mat(6, 7, CV_8UC1, cv::Scalar(0))); });
  expect_internal([&] { estimate_foreground(image, cv::Mat(6, 8, CV_32FC1, cv::Scalar(0))); });
  expect_internal([&] { estimate_foreground(cv::Mat(6, 8, CV_8UC4), cv::Mat(6, 8, CV_8UC1)); });
  ForegroundOptions o;
  o.regularization = 0;
  expect_internal([&] { estimate_foreground(image, cv::Mat(6, 8, CV_8UC1, cv::Scalar(9)), o); });
  o = ForegroundOptions{};
  o.settled = 127;
  expect_internal([&] { estimate_foreground(image, cv::Mat(6, 8, CV_8UC1, cv::Scalar(9)), o); });
}

}  // namespace
}  // namespace cutout::imaging
