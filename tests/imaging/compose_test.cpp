#include "cutout/imaging/compose.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using testing::make_picture;

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// A 256 x 256 image whose every pixel pairs a different mask value (x) with a different colour
// or alpha value (y), so one call checks every combination.
cv::Mat ramp_x() {
  cv::Mat m(256, 256, CV_8UC1);
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 256; ++x) m.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(x);
  }
  return m;
}

int rounded_div255(int v) { return (v + 127) / 255; }  // v / 255 is never exactly x.5

TEST(ComposeCutout, MaskBecomesAlpha) {
  DecodedImage image;
  image.bgr = make_picture(31, 17);
  cv::Mat mask(17, 31, CV_8UC1);
  cv::randu(mask, 0, 256);
  const cv::Mat bgra = compose_cutout(image, mask, ForegroundColour::Raw);
  ASSERT_EQ(bgra.type(), CV_8UC4);
  cv::Mat colour, alpha;
  cv::cvtColor(bgra, colour, cv::COLOR_BGRA2BGR);
  cv::extractChannel(bgra, alpha, 3);
  EXPECT_TRUE(same(colour, image.bgr));
  EXPECT_TRUE(same(alpha, mask));
}

TEST(ComposeCutout, InputAlphaScalesTheMask) {
  DecodedImage image;
  image.bgr = cv::Mat(256, 256, CV_8UC3, cv::Scalar(1, 2, 3));
  image.alpha = ramp_x().t();                            // input alpha = y
  const cv::Mat bgra = compose_cutout(image, ramp_x(), ForegroundColour::Raw);  // mask = x
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 256; ++x) {
      ASSERT_EQ(bgra.at<cv::Vec4b>(y, x), cv::Vec4b(1, 2, 3, rounded_div255(x * y)))
          << "mask " << x << " alpha " << y;
    }
  }
  // A few by hand: 128 * 128 / 255 = 64.25, 200 * 100 / 255 = 78.43, 255 * 77 / 255 = 77.
  EXPECT_EQ(bgra.at<cv::Vec4b>(128, 128)[3], 64);
  EXPECT_EQ(bgra.at<cv::Vec4b>(100, 200)[3], 78);
  EXPECT_EQ(bgra.at<cv::Vec4b>(77, 255)[3], 77);
  EXPECT_EQ(bgra.at<cv::Vec4b>(255, 0)[3], 0);
}

TEST(FlattenOnto, BlendsByHand) {
  DecodedImage image;
  image.bgr = cv::Mat(1, 3, CV_8UC3, cv::Scalar(200, 100, 0));  // b, g, r
  const cv::Mat mask = (cv::Mat_<std::uint8_t>(1, 3) << 64, 255, 0);
  const cv::Mat flat = flatten_onto(image, mask, Rgb{10, 20, 30}, ForegroundColour::Raw);
  ASSERT_EQ(flat.type(), CV_8UC3);
  // b: (200*64 + 30*191) / 255 = 72.67; g: (100*64 + 20*191) / 255 = 40.08; r: 1910 / 255 = 7.49.
  EXPECT_EQ(flat.at<cv::Vec3b>(0, 0), cv::Vec3b(73, 40, 7));
  EXPECT_EQ(flat.at<cv::Vec3b>(0, 1), cv::Vec3b(200, 100, 0));  // opaque: the pixel
  EXPECT_EQ(flat.at<cv::Vec3b>(0, 2), cv::Vec3b(30, 20, 10));   // transparent: the colour
}

TEST(FlattenOnto, EveryColourAndAlphaRoundsCorrectly) {
  DecodedImage image;
  const cv::Mat colour = ramp_x().t();  // colour value = y in every channel
  const cv::Mat channels[] = {colour, colour, colour};
  cv::merge(channels, 3, image.bgr);
  const Rgb background{255, 0, 77};
  const cv::Mat flat = flatten_onto(image, ramp_x(), background, ForegroundColour::Raw);  // alpha = x
  const int bg[3] = {background.b, background.g, background.r};
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 256; ++x) {
      for (int c = 0; c < 3; ++c) {
        ASSERT_EQ(flat.at<cv::Vec3b>(y, x)[c], rounded_div255(y * x + bg[c] * (255 - x)))
            << "colour " << y << " alpha " << x << " channel " << c;
      }
    }
  }
}

TEST(FlattenOnto, UsesInputAlphaToo) {
  DecodedImage image;
  image.bgr = cv::Mat(1, 1, CV_8UC3, cv::Scalar(255, 255, 255));
  image.alpha = cv::Mat(1, 1, CV_8UC1, cv::Scalar(128));
  const cv::Mat mask(1, 1, CV_8UC1, cv::Scalar(128));
  // Effective alpha 64: (255*64 + 0*191) / 255 = 64.
  EXPECT_EQ(flatten_onto(image, mask, Rgb{0, 0, 0}, ForegroundColour::Raw).at<cv::Vec3b>(0, 0), cv::Vec3b(64, 64, 64));
  // One pixel is its own foreground estimate: the same answer.
  EXPECT_EQ(flatten_onto(image, mask, Rgb{0, 0, 0}, ForegroundColour::Estimate).at<cv::Vec3b>(0, 0),
            cv::Vec3b(64, 64, 64));
}

TEST(Compose, WorksOnViewsIntoLargerImages) {
  const cv::Mat big_picture = make_picture(40, 30);
  const cv::Mat big_mask(30, 40, CV_8UC1, cv::Scalar(255));
  DecodedImage image;
  image.bgr = big_picture(cv::Rect(5, 5, 20, 10));
  image.alpha = big_mask(cv::Rect(3, 2, 20, 10));
  const cv::Mat mask = big_mask(cv::Rect(1, 1, 20, 10));
  cv::Mat colour;
  cv::cvtColor(compose_cutout(image, mask, ForegroundColour::Raw), colour, cv::COLOR_BGRA2BGR);
  EXPECT_TRUE(same(colour, image.bgr));
  EXPECT_TRUE(same(flatten_onto(image, mask, Rgb{}, ForegroundColour::Raw), image.bgr));
  EXPECT_TRUE(same(flatten_onto(image, mask, Rgb{}, ForegroundColour::Estimate), image.bgr));
}

// A flat foreground (B, G, R) over a flat background, mixed by a soft horizontal alpha ramp and
// rounded, as a camera records it; the mask is that alpha.
struct SoftEdge {
  cv::Vec3b foreground{30, 140, 220}, background{200, 60, 10};
  DecodedImage image;
  cv::Mat mask;
  SoftEdge() {
    mask.create(20, 120, CV_8UC1);
    image.bgr.create(20, 120, CV_8UC3);
    for (int y = 0; y < 20; ++y) {
      for (int x = 0; x < 120; ++x) {
        const int a = std::clamp((x - 40) * 255 / 40, 0, 255);
        mask.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(a);
        for (int c = 0; c < 3; ++c) {
          image.bgr.at<cv::Vec3b>(y, x)[c] = static_cast<std::uint8_t>(
              rounded_div255(a * foreground[c] + (255 - a) * background[c]));
        }
      }
    }
  }
};

TEST(ComposeCutout, EstimateGivesTheForegroundColourUnderPartialAlpha) {
  const SoftEdge edge;
  const cv::Mat raw = compose_cutout(edge.image, edge.mask, ForegroundColour::Raw);
  const cv::Mat estimated = compose_cutout(edge.image, edge.mask, ForegroundColour::Estimate);
  int raw_worst = 0;
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 120; ++x) {
      const int a = edge.mask.at<std::uint8_t>(y, x);
      const cv::Vec4b px = estimated.at<cv::Vec4b>(y, x);
      ASSERT_EQ(px[3], a);
      if (a <= 8 || a >= 247) {  // settled (ForegroundOptions::settled): raw colour
        ASSERT_EQ(px, raw.at<cv::Vec4b>(y, x)) << x << "," << y;
        continue;
      }
      for (int c = 0; c < 3; ++c) {
        ASSERT_LE(std::abs(px[c] - edge.foreground[c]), 1) << x << "," << y << " channel " << c;
        raw_worst = std::max(raw_worst, std::abs(raw.at<cv::Vec4b>(y, x)[c] - edge.foreground[c]));
      }
    }
  }
  EXPECT_GT(raw_worst, 100);  // the raw colours carry the old background
}

TEST(FlattenOnto, EstimateBlendsTheForegroundNotTheOldBackground) {
  const SoftEdge edge;
  const Rgb magenta{255, 0, 255};
  const int bg[3] = {magenta.b, magenta.g, magenta.r};
  const cv::Mat flat = flatten_onto(edge.image, edge.mask, magenta, ForegroundColour::Estimate);
  const cv::Mat raw = flatten_onto(edge.image, edge.mask, magenta, ForegroundColour::Raw);
  int raw_worst = 0;
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 120; ++x) {
      const int a = edge.mask.at<std::uint8_t>(y, x);
      if (a <= 8 || a >= 247) {  // settled: the raw blend
        ASSERT_EQ(flat.at<cv::Vec3b>(y, x), raw.at<cv::Vec3b>(y, x));
        continue;
      }
      for (int c = 0; c < 3; ++c) {
        const int truth = rounded_div255(a * edge.foreground[c] + (255 - a) * bg[c]);
        ASSERT_LE(std::abs(flat.at<cv::Vec3b>(y, x)[c] - truth), 1) << x << "," << y << " channel " << c;
        raw_worst = std::max(raw_worst, std::abs(raw.at<cv::Vec3b>(y, x)[c] - truth));
      }
    }
  }
  EXPECT_GT(raw_worst, 40);
}

TEST(Compose, MismatchedInputsAreInternalErrors) {
  DecodedImage image;
  image.bgr = make_picture(8, 6);
  const auto expect_internal = [](auto&& call) {
    try {
      call();
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Internal);
    }
  };
  const cv::Mat wrong_size(6, 7, CV_8UC1, cv::Scalar(0));
  const cv::Mat wrong_type(6, 8, CV_32FC1, cv::Scalar(0));
  expect_internal([&] { compose_cutout(image, wrong_size, ForegroundColour::Raw); });
  expect_internal([&] { flatten_onto(image, wrong_size, Rgb{}, ForegroundColour::Estimate); });
  expect_internal([&] { compose_cutout(image, wrong_type, ForegroundColour::Estimate); });
  expect_internal([&] { compose_cutout(image, cv::Mat(), ForegroundColour::Raw); });
  image.alpha = wrong_size;
  expect_internal([&] { compose_cutout(image, cv::Mat(6, 8, CV_8UC1, cv::Scalar(0)), ForegroundColour::Estimate); });
}

}  // namespace
}  // namespace cutout::imaging
