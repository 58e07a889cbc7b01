#include "cutout/service/request_options.hpp"

#include <gtest/gtest.h>

#include "cutout/core/error.hpp"

namespace cutout::service {
namespace {

std::string error_type(const Parameters& p) {
  try {
    parse_remove_background_options(p);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.type();
  }
  return "accepted";
}

TEST(RequestOptions, DefaultsToRgbaPng) {
  const auto o = parse_remove_background_options({});
  EXPECT_EQ(o.output, OutputKind::Rgba);
  EXPECT_EQ(o.format, imaging::OutputFormat::Png);
  EXPECT_FALSE(o.background);
  EXPECT_EQ(o.foreground, imaging::ForegroundColour::Estimate);
}

TEST(RequestOptions, ReadsEveryParameter) {
  auto o = parse_remove_background_options({{"output", "mask"}, {"format", "webp"}});
  EXPECT_EQ(o.output, OutputKind::Mask);
  EXPECT_EQ(o.format, imaging::OutputFormat::Webp);
  o = parse_remove_background_options({{"bg_color", "#FF8001"}, {"format", "jpeg"}});
  ASSERT_TRUE(o.background);
  EXPECT_EQ(o.background->r, 255);
  EXPECT_EQ(o.background->g, 128);
  EXPECT_EQ(o.background->b, 1);
  EXPECT_EQ(o.format, imaging::OutputFormat::Jpeg);
  o = parse_remove_background_options({{"output", "mask"}, {"format", "jpeg"}});
  EXPECT_EQ(o.format, imaging::OutputFormat::Jpeg);
  o = parse_remove_background_options({{"foreground", "raw"}});
  EXPECT_EQ(o.foreground, imaging::ForegroundColour::Raw);
  o = parse_remove_background_options({{"foreground", "raw"}, {"foreground", "estimate"}, {"bg_color", "000000"}});
  EXPECT_EQ(o.foreground, imaging::ForegroundColour::Estimate);
  // A mask has no colours: the choice is accepted and changes nothing (a client may send it always).
  o = parse_remove_background_options({{"output", "mask"}, {"foreground", "raw"}});
  EXPECT_EQ(o.output, OutputKind::Mask);
}

TEST(RequestOptions, RefusesUnknownNamesAndBadValues) {
  EXPECT_EQ(error_type({{"ouput", "mask"}}), "unknown_parameter");
  EXPECT_EQ(error_type({{"output", "alpha"}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"format", "gif"}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"bg_color", "white"}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"bg_color", "12345"}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"bg_color", "12345g"}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"foreground", "ml"}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"foreground", ""}}), "invalid_parameter");
  EXPECT_EQ(error_type({{"foregound", "raw"}}), "unknown_parameter");
}

TEST(RequestOptions, RefusesContradictions) {
  EXPECT_EQ(error_type({{"format", "jpeg"}}), "invalid_parameter");  // transparent result
  EXPECT_EQ(error_type({{"output", "mask"}, {"bg_color", "ffffff"}}), "invalid_parameter");
}

}  // namespace
}  // namespace cutout::service
