// The API key's comparison and which paths stay open.

#include "cutout/http/api_key.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

namespace cutout::http {
namespace {

TEST(ApiKey, ConstantTimeEqualsIsEquality) {
  EXPECT_TRUE(constant_time_equals("s3cret-key", "s3cret-key"));
  EXPECT_FALSE(constant_time_equals("s3cret-kez", "s3cret-key"));
  EXPECT_FALSE(constant_time_equals("s3cret-key-longer", "s3cret-key"));  // a prefix of the given
  EXPECT_FALSE(constant_time_equals("s3cret", "s3cret-key"));             // a prefix of the key
  EXPECT_FALSE(constant_time_equals("", "s3cret-key"));
  EXPECT_FALSE(constant_time_equals(std::string("s3cret-key\0", 11), "s3cret-key"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

httplib::Request request(const std::string& path, httplib::Headers headers = {}) {
  httplib::Request r;
  r.path = path;
  r.headers = std::move(headers);
  return r;
}

TEST(ApiKey, HeaderOrBearerAdmitsProbesStayOpen) {
  const ApiKeyCheck check("k-123");
  EXPECT_TRUE(check.enabled());
  EXPECT_TRUE(check.admits(request("/remove-background", {{"X-API-Key", "k-123"}})));
  EXPECT_TRUE(check.admits(request("/remove-background", {{"Authorization", "Bearer k-123"}})));
  EXPECT_TRUE(check.admits(request("/remove-background", {{"Authorization", "bearer k-123"}})));
  EXPECT_FALSE(check.admits(request("/remove-background", {{"Authorization", "Basic k-123"}})));
  EXPECT_FALSE(check.admits(request("/remove-background", {{"Authorization", "Bearer k-124"}})));
  EXPECT_FALSE(check.admits(request("/warmup")));
  EXPECT_FALSE(check.admits(request("/")));
  // A wrong X-API-Key is not rescued by a right bearer token: one header decides.
  EXPECT_FALSE(check.admits(request("/warmup", {{"X-API-Key", "no"}, {"Authorization", "Bearer k-123"}})));
  EXPECT_TRUE(check.admits(request("/health")));
  EXPECT_TRUE(check.admits(request("/health/live")));
  EXPECT_FALSE(check.admits(request("/health/live/x")));

  const ApiKeyCheck off("");
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.admits(request("/remove-background")));
}

}  // namespace
}  // namespace cutout::http
