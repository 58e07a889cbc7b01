#include "cutout/engine/golden.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include <nlohmann/json.hpp>
#include <torch/nn/functional/pooling.h>

#include "cutout/core/error.hpp"
#include "cutout/engine/device.hpp"
#include "cutout/engine/probe.hpp"

namespace cutout::engine {
namespace {

using nlohmann::json;

constexpr int kMaxGrid = 64;
constexpr int kMaxSide = 8192;
constexpr double kMaxAbsValue = 1e6;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorKind::Internal, "invalid_metadata", "invalid cutout_golden.json: " + what);
}

const json& require(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) invalid(std::string("missing field ") + key);
  return object.at(key);
}

float bounded_number(const json& value, const std::string& name) {
  if (!value.is_number() || !(std::fabs(value.get<double>()) <= kMaxAbsValue)) {
    invalid(name + " must be a finite number within +-1e6");
  }
  return value.get<float>();
}

std::pair<int, int> int_pair(const json& value, const std::string& name, int upper) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_integer() ||
      !value[1].is_number_integer()) {
    invalid(name + " must be an array of 2 integers");
  }
  const long long a = value[0].get<long long>(), b = value[1].get<long long>();
  if (a < 1 || b < 1 || a > upper || b > upper) invalid(name + " values must be in 1.." + std::to_string(upper));
  return {static_cast<int>(a), static_cast<int>(b)};
}

std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

}  // namespace

Golden parse_golden(const std::string& json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) invalid("not a JSON object");
  const json& format = require(doc, "format");
  if (!format.is_number_integer() || format.get<long long>() != 1) invalid("unsupported format (expected 1)");
  const json& probe = require(doc, "probe");
  if (!probe.is_string() || probe.get<std::string>() != kProbeName) {
    invalid(std::string("probe must be \"") + kProbeName + "\" (a newer exporter's probe?)");
  }
  Golden g;
  std::tie(g.output_height, g.output_width) = int_pair(require(doc, "output_size"), "output_size", kMaxSide);
  std::tie(g.grid_height, g.grid_width) = int_pair(require(doc, "grid"), "grid", kMaxGrid);
  if (g.grid_height > g.output_height || g.grid_width > g.output_width) {
    invalid("grid must not exceed output_size");
  }
  const json& values = require(doc, "values");
  const auto cells = static_cast<std::size_t>(g.grid_height) * static_cast<std::size_t>(g.grid_width);
  if (!values.is_array() || values.size() != cells) invalid("values must hold grid[0] * grid[1] numbers");
  g.values.reserve(cells);
  for (const json& v : values) g.values.push_back(bounded_number(v, "values"));
  g.min = bounded_number(require(doc, "min"), "min");
  g.max = bounded_number(require(doc, "max"), "max");
  g.mean = bounded_number(require(doc, "mean"), "mean");
  return g;
}

double self_test_tolerance(torch::ScalarType dtype) {
  // Measured (docs/models.md, "Self-test"): FP32 on the CPU differs only by the stored values'
  // 6-decimal rounding (5e-7); FP16 emulated by rounding every module's output moves the area
  // means of InSPyReNet (rule-made weights, 384) by 0.006. The tolerances leave a margin of
  // several times that (TF32 convolutions on CUDA at fp32) and stay far below a wrong
  // preprocessing, which moves area means by 0.3 or more.
  return dtype == torch::kHalf || dtype == torch::kBFloat16 ? 0.05 : 0.01;
}

SelfTestResult compare_with_golden(const torch::Tensor& probability, const Golden& golden,
                                   torch::ScalarType run_dtype, const std::string& where) {
  namespace F = torch::nn::functional;
  c10::InferenceMode guard;
  SelfTestResult r;
  r.tolerance = self_test_tolerance(run_dtype);
  const std::string precision = dtype_name(run_dtype);
  const bool half = run_dtype == torch::kHalf || run_dtype == torch::kBFloat16;
  const std::string head = "self-test failed at " + precision + " on " + where + ": ";
  const torch::Tensor p = probability.to(torch::kCPU, torch::kFloat);
  if (p.size(2) != golden.output_height || p.size(3) != golden.output_width) {
    r.max_difference = std::nan("");
    r.reason = head + "the model's answer on the probe picture is " + std::to_string(p.size(2)) + "x" +
               std::to_string(p.size(3)) + ", the file's FP32 reference " +
               std::to_string(golden.output_height) + "x" + std::to_string(golden.output_width) +
               "; the file's cutout_golden.json does not belong to this model: re-export it";
    return r;
  }
  const std::int64_t non_finite = (~torch::isfinite(p)).sum().item<std::int64_t>();
  if (non_finite > 0) {
    r.max_difference = std::nan("");
    r.min = r.max = r.mean = std::nan("");
    r.reason = head + "the model's answer on the probe picture holds NaN or Inf in " +
               std::to_string(non_finite) + " of " + std::to_string(p.numel()) +
               " values, where the file's FP32 reference is finite; " +
               (half ? "FP16 leaves its range in this model: --precision fp32 avoids it"
                     : "the file's weights or this device are broken: re-export the file, or check the device");
    return r;
  }
  r.min = p.min().item<double>();
  r.max = p.max().item<double>();
  r.mean = p.mean().item<double>();
  const torch::Tensor pooled = F::adaptive_avg_pool2d(
      p, F::AdaptiveAvgPool2dFuncOptions({golden.grid_height, golden.grid_width})).flatten();
  const torch::Tensor expected = torch::from_blob(const_cast<float*>(golden.values.data()),
                                                  {static_cast<long>(golden.values.size())}, torch::kFloat);
  r.max_difference = (pooled - expected).abs().max().item<double>();
  r.passed = r.max_difference <= r.tolerance;
  if (!r.passed) {
    r.reason = head + "the answer on the probe picture differs from the file's FP32 reference by " +
               fixed(r.max_difference, 4) + " (largest difference of the " +
               std::to_string(golden.grid_height) + "x" + std::to_string(golden.grid_width) +
               " area means; mean " + fixed(r.mean, 4) + " vs " + fixed(golden.mean, 4) +
               "; tolerance " + fixed(r.tolerance, 3) + " at " + precision + "); " +
               (half ? "FP16 loses too much for this model: --precision fp32 avoids it"
                     : "the file's preprocessing (cutout.json), its weights or this device do not "
                       "give the answer recorded at export: re-export the file, or check the device");
  }
  return r;
}

}  // namespace cutout::engine
