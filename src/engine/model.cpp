#include "cutout/engine/model.hpp"

#include <filesystem>
#include <fstream>

#include <ATen/Context.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>

#include "cutout/core/error.hpp"
#include "cutout/engine/device.hpp"
#include "cutout/engine/probe.hpp"
#include "cutout/engine/tensor_pipeline.hpp"

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

// The submodule at a dotted path ("backbone.layers.0"), or nullopt.
std::optional<torch::jit::Module> find_submodule(const torch::jit::Module& root, const std::string& path) {
  torch::jit::Module current = root;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const c10::IValue child = current.attr(part, c10::IValue());
    if (!child.isModule()) return std::nullopt;
    current = child.toModule();
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
  return std::nullopt;
}

}  // namespace

Model::Model(torch::jit::Module module, ModelMetadata metadata, std::optional<Golden> golden,
             torch::Device device, torch::ScalarType dtype)
    : module_(std::move(module)),
      metadata_(std::move(metadata)),
      golden_(std::move(golden)),
      device_(device),
      dtype_(dtype) {}

Model Model::load(const std::string& path, const torch::Device& device, torch::ScalarType dtype,
                  int default_input_size) {
  // torch::jit::load's own message for a missing file is a long backtrace; say it plainly. Only a
  // regular file (or a link to one) is opened: opening a FIFO blocks until a writer comes, so the
  // start would hang in "loading_model" for ever instead of failing.
  std::error_code status_error;
  const auto status = std::filesystem::status(path, status_error);
  if (!status_error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw Error(ErrorKind::Internal, "model_load_failed",
                "model file is not a regular file (a FIFO, socket, device or directory): " + path);
  }
  if (!std::ifstream(path).good()) {
    throw Error(ErrorKind::Internal, "model_load_failed", "model file not readable: " + path);
  }
  torch::jit::ExtraFilesMap extra{{kMetadataFileName, ""}, {kGoldenFileName, ""}};
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
  std::optional<Golden> golden;
  if (!extra[kGoldenFileName].empty()) golden = parse_golden(extra[kGoldenFileName]);

  module.eval();
  // The input size is fixed by the file, so cuDNN's autotuner pays once, during the warm-up, and
  // every request then gets the fastest convolution algorithms it found.
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  // Files store FP16 weights to halve the bytes read; this is where they become the run dtype.
  module.to(dtype);
  // Mixed precision decided at export: these submodules cast their input to float32 themselves
  // (models/fp16_islands.py), so their weights must stay float32 whatever the run dtype.
  for (const std::string& name : metadata.fp32_modules) {
    auto sub = find_submodule(module, name);
    if (!sub) {
      throw Error(ErrorKind::Internal, "invalid_metadata",
                  "invalid cutout.json: fp32_modules names \"" + name + "\", which the model does not have");
    }
    sub->to(torch::kFloat);
  }
  return Model(std::move(module), std::move(metadata), std::move(golden), device, dtype);
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

SelfTestResult Model::self_test() {
  c10::InferenceMode guard;
  const int w = metadata_.input_width, h = metadata_.input_height;
  std::vector<std::uint8_t> rgb = probe_rgb(w, h);
  // make_model_input takes OpenCV's BGR order, as a decoded upload arrives.
  torch::Tensor bgr = torch::from_blob(rgb.data(), {h, w, 3}, torch::kByte).flip({2}).contiguous();
  torch::Tensor input = make_model_input(bgr, metadata_, device_, dtype_);
  return compare_with_golden(forward(input), *golden_, dtype_, device_name(device_));
}

}  // namespace cutout::engine
