#include "cutout/service/remove_background.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "cutout/engine/inference_gate.hpp"
#include "cutout/engine/model.hpp"
#include "support/fixtures.hpp"
#include "support/test_images.hpp"

namespace cutout::service {
namespace {

using cutout::testing::fixture_path;

// Left part red (foreground for the tiny model), right part blue (background).
cv::Mat red_and_blue(int width, int height, int red_columns) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 0, 0));  // BGR blue
  image(cv::Rect(0, 0, red_columns, height)).setTo(cv::Scalar(0, 0, 255));
  return image;
}

std::string png(const cv::Mat& image) { return cutout::testing::encode_as(image, ".png"); }

class RemoveBackgroundTest : public ::testing::Test {
 protected:
  explicit RemoveBackgroundTest(const std::string& model = "tiny.pt")
      : loader_(readiness_, LoadPlan{fixture_path(model), DeviceSetting::Cpu,
                                     PrecisionSetting::Auto, 32, 1}),
        gate_(4),
        remover_(readiness_, loader_, gate_, imaging::DecodeLimits{1'000'000}, imaging::EncodeOptions{}) {}

  cv::Mat run(const std::string& bytes, RemoveBackgroundOptions options = {}) {
    result_ = remover_.remove(bytes, options);
    return cv::imdecode(cv::Mat(1, static_cast<int>(result_.body.size()), CV_8UC1, result_.body.data()),
                        cv::IMREAD_UNCHANGED);
  }

  Readiness readiness_;
  ModelLoader loader_;
  engine::InferenceGate gate_;
  BackgroundRemover remover_;
  RemoveBackgroundResult result_;
};

TEST_F(RemoveBackgroundTest, RefusesWhileNotReady) {
  try {
    remover_.remove(png(red_and_blue(8, 8, 4)), {});
    ADD_FAILURE() << "served before ready";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotReady);
    EXPECT_EQ(e.type(), "not_ready");
  }
}

TEST_F(RemoveBackgroundTest, CutsOutTheForegroundAtTheInputSize) {
  loader_.load();
  ASSERT_TRUE(readiness_.ready()) << readiness_.failure_reason();
  const cv::Mat out = run(png(red_and_blue(200, 120, 100)));
  ASSERT_EQ(out.type(), CV_8UC4);
  EXPECT_EQ(out.cols, 200);
  EXPECT_EQ(out.rows, 120);
  EXPECT_EQ(result_.content_type, "image/png");
  const auto left = out.at<cv::Vec4b>(60, 10);
  const auto right = out.at<cv::Vec4b>(60, 190);
  EXPECT_GT(left[3], 240);   // red kept
  EXPECT_EQ(left[2], 255);   // original colour untouched
  EXPECT_LT(right[3], 15);   // blue removed
  EXPECT_GE(result_.timings.inference_ms, 0.0);
  EXPECT_GT(result_.timings.decode_ms + result_.timings.encode_ms, 0.0);
}

TEST_F(RemoveBackgroundTest, MaskOutputIsGrayscale) {
  loader_.load();
  RemoveBackgroundOptions options;
  options.output = OutputKind::Mask;
  const cv::Mat mask = run(png(red_and_blue(64, 48, 32)), options);
  ASSERT_EQ(mask.type(), CV_8UC1);
  EXPECT_GT(mask.at<std::uint8_t>(10, 5), 240);
  EXPECT_LT(mask.at<std::uint8_t>(10, 60), 15);
}

TEST_F(RemoveBackgroundTest, FlattensOntoABackgroundColour) {
  loader_.load();
  RemoveBackgroundOptions options;
  options.background = imaging::Rgb{0, 255, 0};
  options.format = imaging::OutputFormat::Png;
  const cv::Mat out = run(png(red_and_blue(64, 48, 32)), options);
  ASSERT_EQ(out.type(), CV_8UC3);
  const auto background = out.at<cv::Vec3b>(10, 60);
  EXPECT_GT(background[1], 235);  // green where the blue background was
  EXPECT_LT(background[0], 20);
}

// The default estimates the colour under partial alpha; foreground=raw keeps the input's. Both give
// the same alpha and the same colours where alpha is settled (at most 8 or at least 247: imaging's
// ForegroundOptions::settled).
TEST_F(RemoveBackgroundTest, ForegroundEstimateChangesOnlyPartialPixels) {
  loader_.load();
  const std::string input = png(red_and_blue(200, 120, 100));
  const cv::Mat estimated = run(input);
  RemoveBackgroundOptions raw_options;
  raw_options.foreground = imaging::ForegroundColour::Raw;
  const cv::Mat raw = run(input, raw_options);
  ASSERT_EQ(estimated.type(), CV_8UC4);
  ASSERT_EQ(raw.type(), CV_8UC4);
  int partial_on_blue = 0;
  long raw_red = 0, estimated_red = 0;
  for (int y = 0; y < raw.rows; ++y) {
    for (int x = 0; x < raw.cols; ++x) {
      const cv::Vec4b e = estimated.at<cv::Vec4b>(y, x), r = raw.at<cv::Vec4b>(y, x);
      ASSERT_EQ(e[3], r[3]);
      if (r[3] <= 8 || r[3] >= 247) {
        ASSERT_EQ(e, r) << x << "," << y;
      } else if (x >= 100) {  // blue input pixels the mask keeps in part: the halo
        ++partial_on_blue;
        raw_red += r[2];
        estimated_red += e[2];
      }
    }
  }
  ASSERT_GT(partial_on_blue, 0);
  EXPECT_EQ(raw_red, 0);                          // raw: the old background's pure blue
  EXPECT_GT(estimated_red, 100L * partial_on_blue);  // estimated: pulled to the red foreground
}

TEST_F(RemoveBackgroundTest, AppliesExifOrientationBeforeEverything) {
  loader_.load();
  // Orientation 6: the stored 80x40 image is shown rotated 90 degrees clockwise, 40x80.
  const std::string jpeg = cutout::testing::jpeg_with_orientation(red_and_blue(80, 40, 40), 6);
  const cv::Mat out = run(jpeg);
  EXPECT_EQ(out.cols, 40);
  EXPECT_EQ(out.rows, 80);
  EXPECT_GT(out.at<cv::Vec4b>(5, 20)[3], 200);   // the red left half is now on top
  EXPECT_LT(out.at<cv::Vec4b>(75, 20)[3], 50);
}

TEST_F(RemoveBackgroundTest, DecoderErrorsPassThrough) {
  loader_.load();
  try {
    remover_.remove("definitely not an image", {});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::UnsupportedMediaType);
  }
  try {
    remover_.remove(png(red_and_blue(1200, 1000, 4)), {});  // 1.2 MP over the 1 MP limit
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::PayloadTooLarge);
  }
}

// The memory budget is asked before decoding: a request that does not fit is refused busy; one
// whose header cannot be read reserves nothing and gets the decoder's own answer.
TEST(RemoveBackgroundBudget, RefusedBeforeDecodingWhenTheBudgetIsInUse) {
  Readiness readiness;
  ModelLoader loader(readiness, LoadPlan{fixture_path("tiny.pt"), DeviceSetting::Cpu, PrecisionSetting::Auto, 32, 1});
  engine::InferenceGate gate(4);
  MemoryBudget budget([] { return std::uint64_t{50'000'000}; });
  BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{1'000'000}, {}, &budget);
  loader.load();
  ASSERT_TRUE(readiness.ready()) << readiness.failure_reason();
  const std::string image = png(red_and_blue(200, 120, 100));
  {
    auto everything = budget.admit(50'000'000);
    try {
      remover.remove(image, {});
      ADD_FAILURE() << "served beyond the budget";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Overloaded);
      EXPECT_EQ(e.type(), "busy");
    }
    try {
      remover.remove(image.substr(0, 10), {});  // the PNG signature, no header: nothing to estimate
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.type(), "invalid_image");
    }
  }
  EXPECT_NO_THROW(remover.remove(image, {}));
  EXPECT_EQ(budget.stats().in_use_bytes, 0u);  // given back once the result is made
  EXPECT_EQ(budget.stats().refused, 1u);
}

TEST(RemoveBackgroundFailed, SaysTheModelFailed) {
  Readiness readiness;
  ModelLoader loader(readiness, LoadPlan{fixture_path("truncated.pt"), DeviceSetting::Cpu,
                                         PrecisionSetting::Auto, 32, 1});
  engine::InferenceGate gate(1);
  BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{1'000'000}, {});
  loader.load();
  ASSERT_EQ(readiness.phase(), Phase::Failed);
  EXPECT_NE(readiness.failure_reason().find("truncated.pt"), std::string::npos);
  try {
    remover.remove("x", {});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelFailed);
    EXPECT_EQ(e.type(), "model_failed");
  }
}

// LibTorch's own exceptions do not leave the service layer: the HTTP layer sees a cutout::Error
// whose client message is generic and whose detail (for the log) is LibTorch's message.
TEST(RemoveBackgroundFailed, LibTorchErrorsBecomeInternalErrors) {
  Readiness readiness;
  ModelLoader loader(readiness, LoadPlan{fixture_path("fails_in_forward.pt"), DeviceSetting::Cpu,
                                         PrecisionSetting::Auto, 32, 0});  // no warm-up to fail
  engine::InferenceGate gate(1);
  BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{1'000'000}, {});
  loader.load();
  ASSERT_EQ(readiness.phase(), Phase::Ready) << readiness.failure_reason();
  try {
    remover.remove(cutout::testing::encode_as(cutout::testing::make_picture(16, 16), ".png"), {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Internal);
    EXPECT_EQ(e.type(), "inference_failed");
    EXPECT_EQ(std::string(e.what()).find("reshape"), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("shape"), std::string::npos) << e.detail();
  }
}

// The whole preprocessing made visible: this model returns its first input channel as the mask.
TEST(RemoveBackgroundPipeline, MaskEqualsTheChannelTheModelSaw) {
  for (const auto& [model, channel] : {std::pair<std::string, int>{"first_channel_rgb.pt", 2},
                                       std::pair<std::string, int>{"first_channel_bgr_16.pt", 0}}) {
    Readiness readiness;
    ModelLoader loader(readiness, LoadPlan{fixture_path(model), DeviceSetting::Cpu,
                                           PrecisionSetting::Auto, 32, 0});
    engine::InferenceGate gate(1);
    BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{1'000'000}, {});
    loader.load();
    ASSERT_TRUE(readiness.ready()) << readiness.failure_reason();
    // An image of the model's own size needs no resize: the mask must equal that channel.
    const int side = loader.model()->metadata().input_width;
    cv::Mat image(side, side, CV_8UC3);
    cv::randu(image, 0, 256);
    RemoveBackgroundOptions options;
    options.output = OutputKind::Mask;
    const auto result = remover.remove(png(image), options);
    const cv::Mat mask = cv::imdecode(cv::Mat(1, static_cast<int>(result.body.size()), CV_8UC1,
                                              const_cast<char*>(result.body.data())),
                                      cv::IMREAD_UNCHANGED);
    std::vector<cv::Mat> planes;
    cv::split(image, planes);
    cv::Mat diff;
    cv::absdiff(mask, planes[channel], diff);
    double worst = 0;
    cv::minMaxLoc(diff, nullptr, &worst);
    EXPECT_LE(worst, 1.0) << model;  // float round trip, then truncation
  }
}

// A model answer with NaN is an error, never a mask (NaN became 0: an empty cut-out with 200).
// nan_on_white.pt answers NaN where the input is white and RedVsBlue's mask elsewhere.
class NanOutputTest : public RemoveBackgroundTest {
 protected:
  NanOutputTest() : RemoveBackgroundTest("nan_on_white.pt") {}
};

TEST_F(NanOutputTest, IsAnInferenceFailureWithTheCountInTheLog) {
  loader_.load();  // one warm-up pass on mid-grey: proven
  ASSERT_TRUE(readiness_.ready()) << readiness_.failure_reason();
  cv::Mat image = red_and_blue(64, 64, 32);
  image(cv::Rect(0, 0, 64, 16)).setTo(cv::Scalar(255, 255, 255));
  try {
    run(png(image));
    ADD_FAILURE() << "a mask was made from NaN";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Internal);
    EXPECT_EQ(e.type(), "inference_failed");
    EXPECT_NE(e.detail().find("NaN or Inf in"), std::string::npos) << e.detail();
    EXPECT_NE(e.detail().find("of 1024 values"), std::string::npos) << e.detail();
  }
  // The model has run, so the failure is this input's: the instance keeps serving.
  EXPECT_TRUE(readiness_.ready());
  EXPECT_EQ(run(png(red_and_blue(64, 64, 32))).cols, 64);
}

// --warmup-runs 0 and a model whose forward pass always fails: it said ready and answered 500 for
// ever. The first failure of a model that never ran now turns the instance Failed (exit 3).
TEST(RemoveBackgroundUnproven, FirstForwardFailureFailsTheInstance) {
  Readiness readiness;
  ModelLoader loader(readiness, LoadPlan{fixture_path("fails_in_forward.pt"), DeviceSetting::Cpu,
                                         PrecisionSetting::Auto, 32, 0});
  engine::InferenceGate gate(1);
  BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{1'000'000}, {});
  loader.load();
  ASSERT_EQ(readiness.phase(), Phase::Ready) << readiness.failure_reason();
  const std::string image = cutout::testing::encode_as(cutout::testing::make_picture(16, 16), ".png");
  EXPECT_THROW(remover.remove(image, {}), Error);
  EXPECT_EQ(readiness.phase(), Phase::Failed);
  EXPECT_NE(readiness.failure_reason().find("first forward pass failed"), std::string::npos)
      << readiness.failure_reason();
  try {
    remover.remove(image, {});
    ADD_FAILURE() << "served after the model failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "model_failed");
  }
}

TEST(RemoveBackgroundUnproven, ASucceededPassProvesTheModel) {
  Readiness readiness;
  ModelLoader loader(readiness, LoadPlan{fixture_path("nan_on_white.pt"), DeviceSetting::Cpu,
                                         PrecisionSetting::Auto, 32, 0});
  engine::InferenceGate gate(1);
  BackgroundRemover remover(readiness, loader, gate, imaging::DecodeLimits{1'000'000}, {});
  loader.load();
  ASSERT_TRUE(readiness.ready());
  EXPECT_FALSE(readiness.proven());
  remover.remove(png(red_and_blue(32, 32, 16)), {});
  EXPECT_TRUE(readiness.proven());
  EXPECT_THROW(remover.remove(png(cv::Mat(32, 32, CV_8UC3, cv::Scalar::all(255))), {}), Error);
  EXPECT_TRUE(readiness.ready());
}

// A request whose client has gone is dropped at its turn in the queue, before the forward pass;
// one whose client is still there runs. The remover's count of forward passes says which ran.
TEST_F(RemoveBackgroundTest, ClientGoneAtTheTurnSkipsTheForwardPass) {
  loader_.load();
  ASSERT_TRUE(readiness_.ready()) << readiness_.failure_reason();
  const std::string bytes = png(red_and_blue(16, 16, 8));
  RemoveBackgroundOptions gone;
  int asked = 0;
  gone.client_gone = [&] {
    ++asked;
    return true;
  };
  try {
    remover_.remove(bytes, gone);
    ADD_FAILURE() << "served a request whose client had gone";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ClientGone);
    EXPECT_EQ(e.type(), "client_gone");
  }
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(remover_.forward_passes(), 0u);
  EXPECT_EQ(gate_.inside(), 0u);  // the turn was passed on

  RemoveBackgroundOptions present;
  present.client_gone = [] { return false; };
  run(bytes, present);
  run(bytes, {});  // empty: never gone
  EXPECT_EQ(remover_.forward_passes(), 2u);
}

}  // namespace
}  // namespace cutout::service
