#include "cutout/http/error_response.hpp"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cutout/core/error.hpp"

namespace cutout::http {
namespace {

template <typename E>
ErrorReply reply_for(E exception) {
  return describe_exception(std::make_exception_ptr(exception));
}

TEST(ErrorResponse, MapsEachKindToItsStatus) {
  EXPECT_EQ(reply_for(Error(ErrorKind::InvalidArgument, "invalid_image", "x")).status, 400);
  EXPECT_EQ(reply_for(Error(ErrorKind::PayloadTooLarge, "image_too_large", "x")).status, 413);
  EXPECT_EQ(reply_for(Error(ErrorKind::UnsupportedMediaType, "unsupported_media_type", "x")).status, 415);
  EXPECT_EQ(reply_for(Error(ErrorKind::Internal, "x", "x")).status, 500);
  const auto not_ready = reply_for(Error(ErrorKind::NotReady, "not_ready", "loading"));
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_TRUE(not_ready.retry_after_s);
  const auto busy = reply_for(Error(ErrorKind::Overloaded, "queue_full", "full"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_TRUE(busy.retry_after_s);
  EXPECT_EQ(busy.type, "queue_full");
  EXPECT_EQ(busy.message, "full");
}

TEST(ErrorResponse, LibraryExceptionsBecome500WithoutInternals) {
  const auto torch_error = reply_for(c10::Error("secret backtrace", "bt"));
  EXPECT_EQ(torch_error.status, 500);
  EXPECT_EQ(torch_error.type, "inference_failed");
  EXPECT_EQ(torch_error.message.find("secret"), std::string::npos);
  const auto cv_error = reply_for(cv::Exception(-1, "bad", "f", "file.cpp", 1));
  EXPECT_EQ(cv_error.status, 500);
  EXPECT_EQ(cv_error.type, "image_processing_failed");
  EXPECT_EQ(reply_for(std::logic_error("x")).status, 500);
  EXPECT_EQ(reply_for(42).status, 500);
}

TEST(ErrorResponse, BodyHasTheDocumentedShape) {
  const auto body = nlohmann::json::parse(error_json({413, "body_too_large", "too big", std::nullopt}));
  EXPECT_EQ(body["error"]["code"], 413);
  EXPECT_EQ(body["error"]["type"], "body_too_large");
  EXPECT_EQ(body["error"]["message"], "too big");
}

TEST(ErrorResponse, SendErrorSetsStatusTypeAndRetryAfter) {
  httplib::Response res;
  send_error(res, ErrorReply{503, "queue_full", "full", 1});
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.get_header_value("Retry-After"), "1");
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
}

TEST(ErrorResponse, LibraryStatusesGetJsonTypes) {
  EXPECT_EQ(reply_for_status(404).type, "not_found");
  EXPECT_EQ(reply_for_status(413).type, "body_too_large");
  EXPECT_EQ(reply_for_status(405).status, 405);
}

}  // namespace
}  // namespace cutout::http
