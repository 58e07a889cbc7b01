#include "cutout/http/error_response.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"
#include "cutout/http/reply.hpp"
#include "cutout/service/readiness.hpp"

namespace cutout::http {
namespace {

class StatusPolicyTest : public ::testing::Test {
 protected:
  template <typename E>
  ErrorReply reply_for(E exception) {
    return policy.reply_for(std::make_exception_ptr(exception));
  }
  service::Readiness readiness;
  StatusPolicy policy{readiness};
};

TEST_F(StatusPolicyTest, MapsEachKindToItsStatus) {
  EXPECT_EQ(reply_for(Error(ErrorKind::InvalidArgument, "invalid_image", "x")).status, 400);
  EXPECT_EQ(reply_for(Error(ErrorKind::PayloadTooLarge, "image_too_large", "x")).status, 413);
  EXPECT_EQ(reply_for(Error(ErrorKind::UnsupportedMediaType, "unsupported_media_type", "x")).status, 415);
  EXPECT_EQ(reply_for(Error(ErrorKind::Internal, "x", "x")).status, 500);
  const auto not_ready = reply_for(Error(ErrorKind::NotReady, "not_ready", "loading"));
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_TRUE(not_ready.retry_after_s);
  const auto failed = reply_for(Error(ErrorKind::ModelFailed, "model_failed", "broken"));
  EXPECT_EQ(failed.status, 503);
  EXPECT_FALSE(failed.retry_after_s);  // this instance will not recover: no point retrying it
  const auto busy = reply_for(Error(ErrorKind::Overloaded, "queue_full", "full"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.retry_after_s, 1);
  EXPECT_EQ(busy.type, "queue_full");
  EXPECT_EQ(busy.message, "full");
}

TEST_F(StatusPolicyTest, RetryAfterWhileLoadingFollowsTheStartupEstimate) {
  // Still "starting", with a typical starting phase of 0 ms, so it is overdue whatever the clock
  // says: the estimate is exactly the later phases' typical durations.
  readiness.set_typical_durations({0, 5'000, 0});  // ms: starting, loading, warming up
  EXPECT_EQ(policy.retry_after_while_loading_s(), 5);
  EXPECT_EQ(reply_for(Error(ErrorKind::NotReady, "not_ready", "x")).retry_after_s, 5);
  readiness.set_typical_durations({0, 2'100, 0});
  EXPECT_EQ(policy.retry_after_while_loading_s(), 3);  // whole seconds, rounded up
  readiness.set_typical_durations({0, 0, 0});
  EXPECT_EQ(policy.retry_after_while_loading_s(), 1);  // never less than a second
  readiness.set_typical_durations({0, 1'000'000, 0});
  EXPECT_EQ(policy.retry_after_while_loading_s(), 30);  // never more than half a minute
}

TEST_F(StatusPolicyTest, InternalErrorsAnswerWithoutTheirDetail) {
  const auto internal = reply_for(Error(ErrorKind::Internal, "inference_failed",
                                        "internal error while processing the request", "secret trace"));
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.type, "inference_failed");
  EXPECT_EQ(internal.message.find("secret"), std::string::npos);
  const auto other = reply_for(std::logic_error("secret"));
  EXPECT_EQ(other.status, 500);
  EXPECT_EQ(other.message.find("secret"), std::string::npos);
  EXPECT_EQ(reply_for(42).status, 500);
  EXPECT_EQ(reply_for(std::bad_alloc()).type, "out_of_memory");
}

// The answer carries the short public code; the full reason (a path, LibTorch's text) is the log's.
TEST_F(StatusPolicyTest, ModelFailedCarriesThePublicReasonOnly) {
  readiness.fail("/models/secret/default.pt: file is not TorchScript", "model_load_failed");
  const ErrorReply r = policy.model_failed();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.type, "model_failed");
  EXPECT_NE(r.message.find("model_load_failed"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("TorchScript"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("/models/secret"), std::string::npos) << r.message;
  EXPECT_FALSE(r.retry_after_s);
}

TEST(ErrorResponse, ScreeningRefusals) {
  EXPECT_EQ(content_encoding_refused("gzip").status, 415);
  EXPECT_EQ(content_encoding_refused("gzip").type, "unsupported_content_encoding");
  EXPECT_EQ(content_encoding_refused("a\r\nb").message.find('\n'), std::string::npos);
  EXPECT_EQ(body_not_allowed("/warmup").status, 413);
  EXPECT_EQ(body_not_allowed("/warmup").type, "body_not_allowed");
  EXPECT_EQ(too_many_headers(64).status, 431);
  EXPECT_EQ(too_many_headers(64).type, "too_many_headers");
  EXPECT_EQ(reply_for_status(431).type, "too_many_headers");
}

TEST(ErrorResponse, BodyHasTheDocumentedShape) {
  const auto body = nlohmann::json::parse(error_json(body_too_large(1024)));
  EXPECT_EQ(body["error"]["code"], 413);
  EXPECT_EQ(body["error"]["type"], "body_too_large");
  EXPECT_EQ(body["error"]["message"], "the request body is over the limit of 1024 bytes");
}

TEST(ErrorResponse, SendErrorSetsStatusTypeAndRetryAfter) {
  httplib::Response res;
  send_error(res, ErrorReply{503, "queue_full", "full", 1});
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.get_header_value("Retry-After"), "1");
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
}

TEST(ErrorResponse, ErrorRepliesKeepExtraFieldsBesideTheErrorObject) {
  const Reply reply = Reply::error(ErrorReply{503, "warmup_timeout", "slow", 2}, {{"phase", "warming_up"}});
  const auto body = nlohmann::json::parse(reply.body);
  EXPECT_EQ(body["error"]["type"], "warmup_timeout");
  EXPECT_EQ(body["phase"], "warming_up");
  ASSERT_EQ(reply.headers.size(), 1u);
  EXPECT_EQ(reply.headers[0].first, "Retry-After");
  EXPECT_EQ(reply.headers[0].second, "2");
}

TEST(ErrorResponse, LibraryStatusesGetJsonTypes) {
  EXPECT_EQ(reply_for_status(404).type, "not_found");
  EXPECT_EQ(reply_for_status(413).type, "body_too_large");
  EXPECT_EQ(reply_for_status(405).status, 405);
}

}  // namespace
}  // namespace cutout::http
