// libFuzzer target: the model metadata parser (the cutout.json inside a TorchScript archive), and
// for every document it accepts, the preprocessing that metadata drives.
//
// Oracle, beyond ASan/UBSan: only cutout::Error may leave the parser; an accepted document yields
// values inside the documented ranges (finite numbers, positive std, sizes 1..8192, index 0..64);
// and for accepted inputs of modest size, make_model_input returns a finite [1, 3, h, w] tensor.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include "cutout/core/error.hpp"
#include "cutout/engine/model_metadata.hpp"
#include "cutout/engine/tensor_pipeline.hpp"

namespace {

[[noreturn]] void finding(const char* what, const std::string& text) {
  std::fprintf(stderr, "metadata_fuzzer: %s\n--- input (first 1024) ---\n%.1024s\n", what, text.c_str());
  std::abort();
}

bool finite_and(const std::array<float, 3>& values, bool positive) {
  for (float v : values) {
    if (!std::isfinite(v) || (positive && !(v > 0.f))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  cutout::engine::ModelMetadata meta;
  try {
    meta = cutout::engine::parse_model_metadata(text);
  } catch (const cutout::Error& e) {
    if (e.type() != "invalid_metadata") finding("unexpected error type", text);
    return 0;
  }
  if (!meta.embedded) finding("accepted metadata not marked embedded", text);
  if (meta.input_width < 1 || meta.input_width > 8192 || meta.input_height < 1 ||
      meta.input_height > 8192) {
    finding("input size out of range", text);
  }
  if (meta.output_index < 0 || meta.output_index > 64) finding("output index out of range", text);
  if (!finite_and(meta.mean, false)) finding("mean not finite", text);
  if (!finite_and(meta.std, true)) finding("std not finite and positive", text);

  // Drive the preprocessing with it; only small inputs, to keep each run short.
  if (static_cast<long>(meta.input_width) * meta.input_height <= 64 * 64) {
    const torch::Tensor bgr = torch::arange(7 * 5 * 3, torch::kInt).remainder(256).to(torch::kByte).view({7, 5, 3});
    const torch::Tensor input =
        cutout::engine::make_model_input(bgr, meta, torch::Device(torch::kCPU), torch::kFloat);
    if (input.sizes() != torch::IntArrayRef({1, 3, meta.input_height, meta.input_width})) {
      finding("model input has the wrong shape", text);
    }
    if (!torch::isfinite(input).all().item<bool>()) finding("model input not finite", text);
  }
  return 0;
}
