#pragma once
// One TorchScript model: loaded once, moved to its device and precision once, then used for
// forward passes. Callers serialise forward() (see InferenceGate); nothing here locks.

#include <optional>
#include <string>

#include <torch/script.h>

#include "cutout/engine/golden.hpp"
#include "cutout/engine/model_metadata.hpp"

namespace cutout::engine {

class Model {
 public:
  // Loads the archive straight onto `device` (no CPU copy first), reads cutout.json when present
  // (else InSPyReNet defaults at `default_input_size`) and cutout_golden.json when present, then
  // converts to `dtype`, except the submodules cutout.json's fp32_modules keeps in float32.
  // Throws cutout::Error (Internal, "model_load_failed" / "invalid_metadata").
  static Model load(const std::string& path, const torch::Device& device, torch::ScalarType dtype,
                    int default_input_size);

  // Input [1,3,H,W] in the model's dtype on its device. Returns the mask as a probability
  // [1,1,h,w] (activation applied, output element selected). Throws cutout::Error
  // (Internal, "bad_model_output") when the output is not a single-channel map.
  torch::Tensor forward(const torch::Tensor& input);

  // A forward pass on a neutral input of the model's size; validates the output shape.
  void warm_up();

  // A forward pass on the golden probe picture through the server's own preprocessing
  // (make_model_input), compared with the file's golden. Counts as a warm-up pass. Needs golden().
  SelfTestResult self_test();
  const std::optional<Golden>& golden() const { return golden_; }

  // TorchScript's graph optimiser for this model's forward passes: off by default (see forward());
  // benchmarks turn it on to measure what it buys. Set before the first forward pass.
  void set_graph_optimizer(bool enabled) { graph_optimizer_ = enabled; }

  const ModelMetadata& metadata() const { return metadata_; }
  const torch::Device& device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

 private:
  Model(torch::jit::Module module, ModelMetadata metadata, std::optional<Golden> golden,
        torch::Device device, torch::ScalarType dtype);

  torch::jit::Module module_;
  ModelMetadata metadata_;
  std::optional<Golden> golden_;
  torch::Device device_;
  torch::ScalarType dtype_;
  bool graph_optimizer_ = false;
};

}  // namespace cutout::engine
