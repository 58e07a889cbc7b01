#pragma once
// The golden probe's answer stored in a model file (`cutout_golden.json`, schema in
// models/golden.py) and the self-test that compares this device's answer with it.

#include <string>
#include <vector>

#include <torch/types.h>

namespace cutout::engine {

inline constexpr const char* kGoldenFileName = "cutout_golden.json";

// The FP32 answer recorded at export for the probe picture (probe.hpp) at the model's input size.
struct Golden {
  int output_height = 0;
  int output_width = 0;
  int grid_height = 0;  // area means of the probability map, at most 64 x 64
  int grid_width = 0;
  std::vector<float> values;  // grid_height * grid_width, row-major
  float min = 0.f, max = 0.f, mean = 0.f;  // over the whole output map
};

// Throws cutout::Error (Internal, "invalid_metadata") naming the field that is wrong.
Golden parse_golden(const std::string& json_text);

// The largest difference of one area mean from the golden's that still passes, per run dtype:
// FP32 differs only by summation order (CPU) or TF32 convolutions (CUDA); FP16 rounds every
// activation to 11 significant bits (docs/models.md, "Self-test", has the measurements).
double self_test_tolerance(torch::ScalarType dtype);

struct SelfTestResult {
  bool passed = false;
  double max_difference = 0.0;  // largest |area mean - golden's|; NaN when the answer is not finite
  double tolerance = 0.0;
  double min = 0.0, max = 0.0, mean = 0.0;  // of this run's probability map
  std::string reason;  // what differed and what to do; empty when passed
};

// `probability`: the model's [1, 1, h, w] answer on the probe (any device, any float dtype).
// `run_dtype`/`where` ("cuda:0") say what ran, for the tolerance and the reason. Never throws for a
// wrong answer: the result says it.
SelfTestResult compare_with_golden(const torch::Tensor& probability, const Golden& golden,
                                   torch::ScalarType run_dtype, const std::string& where);

}  // namespace cutout::engine
