#include "cutout/engine/model_metadata.hpp"

#include <nlohmann/json.hpp>

#include "cutout/core/error.hpp"

namespace cutout::engine {
namespace {

using nlohmann::json;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorKind::Internal, "invalid_metadata", "invalid cutout.json: " + what);
}

const json& require(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) invalid("missing field " + where + key);
  return object.at(key);
}

int positive_int(const json& value, const std::string& name, int upper) {
  if (!value.is_number_integer()) invalid(name + " must be an integer");
  const auto v = value.get<long long>();
  if (v <= 0 || v > upper) invalid(name + " must be in 1.." + std::to_string(upper));
  return static_cast<int>(v);
}

// mean and std act on v / 255 in [0, 1]. Bounds keep ((v / 255) - mean) / std finite in float
// (at most 1001 / 1e-6): a number beyond float's range (1e39) would become inf, a tiny std would
// overflow, and either turns every model input into inf, NaN or zero.
constexpr float kMaxAbsMean = 1e3f;
constexpr float kMinStd = 1e-6f;
constexpr float kMaxStd = 1e3f;

std::array<float, 3> three_floats(const json& value, const std::string& name, float lowest,
                                  float highest, const char* range) {
  if (!value.is_array() || value.size() != 3) invalid(name + " must be an array of 3 numbers");
  std::array<float, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!value[i].is_number()) invalid(name + " must be an array of 3 numbers");
    const double v = value[i].get<double>();
    if (!(v >= lowest && v <= highest)) {
      invalid(name + " values must be in " + range);
    }
    out[i] = static_cast<float>(v);
  }
  return out;
}

}  // namespace

ModelMetadata parse_model_metadata(const std::string& json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) invalid("not a JSON object");
  const json& format = require(doc, "format", "");
  if (!format.is_number_integer() || format.get<int>() != 1) invalid("unsupported format (expected 1)");

  ModelMetadata meta;
  meta.embedded = true;
  if (doc.contains("name")) {
    if (!doc["name"].is_string()) invalid("name must be a string");
    meta.name = doc["name"].get<std::string>();
  }
  if (doc.contains("mode") && doc["mode"].is_string()) meta.mode = doc["mode"].get<std::string>();

  const json& input = require(doc, "input", "");
  constexpr int kMaxSide = 8192;
  meta.input_width = positive_int(require(input, "width", "input."), "input.width", kMaxSide);
  meta.input_height = positive_int(require(input, "height", "input."), "input.height", kMaxSide);
  const json& order = require(input, "channel_order", "input.");
  if (order == "RGB") {
    meta.channel_order = ChannelOrder::Rgb;
  } else if (order == "BGR") {
    meta.channel_order = ChannelOrder::Bgr;
  } else {
    invalid("input.channel_order must be \"RGB\" or \"BGR\"");
  }
  meta.mean = three_floats(require(input, "mean", "input."), "input.mean", -kMaxAbsMean, kMaxAbsMean,
                           "-1000..1000");
  meta.std = three_floats(require(input, "std", "input."), "input.std", kMinStd, kMaxStd, "1e-6..1000");

  const json& output = require(doc, "output", "");
  const json& index = require(output, "index", "output.");
  if (!index.is_number_integer() || index.get<long long>() < 0 || index.get<long long>() > 64) {
    invalid("output.index must be an integer in 0..64");
  }
  meta.output_index = index.get<int>();
  const json& activation = require(output, "activation", "output.");
  if (activation == "none") {
    meta.activation = OutputActivation::None;
  } else if (activation == "sigmoid") {
    meta.activation = OutputActivation::Sigmoid;
  } else {
    invalid("output.activation must be \"none\" or \"sigmoid\"");
  }
  if (doc.contains("fp32_modules")) {
    const json& names = doc["fp32_modules"];
    constexpr std::size_t kMaxNames = 4096, kMaxNameLength = 512;
    if (!names.is_array() || names.size() > kMaxNames) invalid("fp32_modules must be an array of at most 4096 names");
    for (const json& name : names) {
      if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > kMaxNameLength) {
        invalid("fp32_modules must hold module paths (1..512 characters)");
      }
      meta.fp32_modules.push_back(name.get<std::string>());
    }
  }
  return meta;
}

ModelMetadata inspyrenet_defaults(int input_size) {
  ModelMetadata meta;
  meta.name = "inspyrenet (no metadata)";
  meta.input_width = input_size;
  meta.input_height = input_size;
  meta.channel_order = ChannelOrder::Rgb;
  meta.mean = {0.485f, 0.456f, 0.406f};
  meta.std = {0.229f, 0.224f, 0.225f};
  meta.output_index = 0;
  meta.activation = OutputActivation::None;
  meta.embedded = false;
  return meta;
}

}  // namespace cutout::engine
