#include "cutout/engine/model_metadata.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"

namespace cutout::engine {
namespace {

nlohmann::json valid() {
  return nlohmann::json::parse(R"({
    "format": 1, "name": "isnet", "mode": "fast",
    "input": {"width": 1024, "height": 768, "channel_order": "BGR",
              "mean": [0.5, 0.25, 0.125], "std": [1.0, 2.0, 4.0]},
    "output": {"index": 2, "activation": "sigmoid"}})");
}

TEST(ModelMetadata, ParsesEveryField) {
  const ModelMetadata m = parse_model_metadata(valid().dump());
  EXPECT_EQ(m.name, "isnet");
  EXPECT_EQ(m.mode, "fast");
  EXPECT_EQ(m.input_width, 1024);
  EXPECT_EQ(m.input_height, 768);
  EXPECT_EQ(m.channel_order, ChannelOrder::Bgr);
  EXPECT_FLOAT_EQ(m.mean[2], 0.125f);
  EXPECT_FLOAT_EQ(m.std[1], 2.0f);
  EXPECT_EQ(m.output_index, 2);
  EXPECT_EQ(m.activation, OutputActivation::Sigmoid);
  EXPECT_TRUE(m.embedded);
}

TEST(ModelMetadata, InspyrenetDefaultsForFilesWithoutMetadata) {
  const ModelMetadata m = inspyrenet_defaults(384);
  EXPECT_EQ(m.input_width, 384);
  EXPECT_EQ(m.input_height, 384);
  EXPECT_EQ(m.channel_order, ChannelOrder::Rgb);
  EXPECT_FLOAT_EQ(m.mean[0], 0.485f);
  EXPECT_FLOAT_EQ(m.std[2], 0.225f);
  EXPECT_EQ(m.activation, OutputActivation::None);
  EXPECT_FALSE(m.embedded);
}

void expect_invalid(const std::string& text, const std::string& mentions) {
  try {
    parse_model_metadata(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "invalid_metadata");
    EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
  }
}

TEST(ModelMetadata, RefusesBrokenDocumentsNamingTheField) {
  expect_invalid("not json", "not a JSON object");
  expect_invalid("[1,2]", "not a JSON object");
  auto doc = valid();
  doc["format"] = 2;
  expect_invalid(doc.dump(), "format");
  doc = valid();
  doc["input"].erase("width");
  expect_invalid(doc.dump(), "input.width");
  doc = valid();
  doc["input"]["height"] = 0;
  expect_invalid(doc.dump(), "input.height");
  doc = valid();
  doc["input"]["channel_order"] = "XYZ";
  expect_invalid(doc.dump(), "channel_order");
  doc = valid();
  doc["input"]["mean"] = {1, 2};
  expect_invalid(doc.dump(), "input.mean");
  doc = valid();
  doc["input"]["std"] = {1, 0, 1};
  expect_invalid(doc.dump(), "input.std");
  doc = valid();
  doc["output"]["activation"] = "softmax";
  expect_invalid(doc.dump(), "activation");
  doc = valid();
  doc["output"]["index"] = -1;
  expect_invalid(doc.dump(), "output.index");
}

// Found by fuzz/metadata_fuzzer (fuzz/regressions/metadata/): 1e39 is a valid JSON number that
// becomes inf as a float, and an infinite mean, or a std so small that the division overflows,
// turns every model input into inf, NaN or zero. mean is bounded to +-1000, std to 1e-6..1000.
TEST(ModelMetadata, RefusesMeanAndStdThatCannotGiveFiniteInputs) {
  auto doc = valid();
  doc["input"]["mean"][2] = -1e39;
  expect_invalid(doc.dump(), "input.mean values must be in");
  doc = valid();
  doc["input"]["std"][0] = 1e39;
  expect_invalid(doc.dump(), "input.std values must be in");
  doc = valid();
  doc["input"]["std"][1] = 1e-30;
  expect_invalid(doc.dump(), "input.std values must be in");
  doc = valid();
  doc["input"]["std"][1] = 0;
  expect_invalid(doc.dump(), "input.std values must be in");
  doc = valid();
  doc["input"]["mean"] = {-1000, 1000, 0};
  doc["input"]["std"] = {1e-6, 1000, 1};
  const ModelMetadata m = parse_model_metadata(doc.dump());
  EXPECT_FLOAT_EQ(m.mean[1], 1000.f);
  EXPECT_FLOAT_EQ(m.std[0], 1e-6f);
}

}  // namespace
}  // namespace cutout::engine
