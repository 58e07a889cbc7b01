#include "cutout/engine/model.hpp"

#include <fstream>

#include <ATen/Context.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>

#include "cutout/core/error.hpp"

namespace cutout::engine {
namespace {

[[noreturn]] void bad_output(const std::string& what) {
  throw Error(ErrorKind::Internal, "bad_model_output", "model output " + what);
}

torch::Tensor select_output(const c10::IValue& output, int index) {
  if (output.isTensor()) return output.toTensor();
  if (output.isTuple()) {
    const auto& elements = output.toTupleRef().elements();
    if (index >= static_cast<int>(elements.size()) || !elements[index].isTensor()) {
      bad_output("has no tensor at index " + std::to_string(index));
    }
    return elements[index].toTensor();
  }
  if (output.isList()) {
    const auto list = output.toList();
    if (index >= static_cast<int>(list.size()) || !list.get(index).isTensor()) {
      bad_output("has no tensor at index " + std::to_string(index));
    }
    return list.get(index).toTensor();
  }
  bad_output("is neither a tensor nor a tuple/list of tensors");
}

}  // namespace

Model::Model(torch::jit::Module module, ModelMetadata metadata, torch::Device device,
             torch::ScalarType dtype)
    : module_(std::move(module)), metadata_(std::move(metadata)), device_(device), dtype_(dtype) {}

Model Model::load(const std::string& path, const torch::Device& device, torch::ScalarType dtype,
                  int default_input_size) {
  // torch::jit::load's own message for a missing file is a long backtrace; say it plainly.
  if (!std::ifstream(path).good()) {
    throw Error(ErrorKind::Internal, "model_load_failed", "model file not readable: " + path);
  }
  torch::jit::ExtraFilesMap extra{{kMetadataFileName, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Internal, "model_load_failed",
                "not a loadable TorchScript file: " + path + ": " + e.what_without_backtrace());
  }
  const std::string& meta_text = extra[kMetadataFileName];
  ModelMetadata metadata =
      meta_text.empty() ? inspyrenet_defaults(default_input_size) : parse_model_metadata(meta_text);

  module.eval();
  // The input size is fixed by the file, so cuDNN's autotuner pays once, during the warm-up, and
  // every request then gets the fastest convolution algorithms it found.
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  // Files store FP16 weights to halve the bytes read; this is where they become the run dtype.
  module.to(dtype);
  return Model(std::move(module), std::move(metadata), device, dtype);
}

torch::Tensor Model::forward(const torch::Tensor& input) {
  c10::InferenceMode guard;
  // TorchScript's profiling executor records the first call and compiles an optimised graph on the
  // second (fusing pointwise ops on CUDA), so after a one-pass warm-up the first request paid that
  // compilation. Without the optimiser every call runs the same graph: the warm-up is the whole
  // cost, and on the CPU (where LibTorch fuses nothing by default) steady state is unchanged
  // (docs/performance.md, "First request"). The switch is thread-local in LibTorch, and forwards
  // run on the HTTP threads, not the loader's: hence a guard here rather than a call at load.
  torch::jit::GraphOptimizerEnabledGuard optimiser(graph_optimizer_);
  torch::Tensor out = select_output(module_.forward({input}), metadata_.output_index);
  if (out.dim() == 3) out = out.unsqueeze(0);
  if (out.dim() != 4 || out.size(0) != 1 || out.size(1) != 1 || out.size(2) < 1 ||
      out.size(3) < 1) {
    bad_output("has shape " + c10::str(out.sizes()) + ", expected [1, 1, H, W]");
  }
  if (!out.is_floating_point()) bad_output("is not floating point");
  if (metadata_.activation == OutputActivation::Sigmoid) out = out.sigmoid();
  // CUDA kernels run asynchronously: wait here so the forward pass is timed (and serialised) for
  // what it really costs, not blamed on the postprocessing that follows.
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  return out;
}

void Model::warm_up() {
  c10::InferenceMode guard;
  // Mid-grey after normalisation is close to zero: a neutral input at the traced size.
  auto input = torch::zeros({1, 3, metadata_.input_height, metadata_.input_width},
                            torch::TensorOptions().device(device_).dtype(dtype_));
  forward(input);
}

}  // namespace cutout::engine
