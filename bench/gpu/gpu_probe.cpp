// cutout-gpu-probe: the figures the next design steps need from a GPU, one mode per process
// (bench/gpu/probe.py runs the plan; docs/performance.md, "GPU benchmark", says what each decides).
//
//   --mode sweep      forward latency and images/s at batch 1, 2, 4, 8 (--batches), peak memory
//                     per batch size;
//   --mode coldstart  a fresh process's way to ready as separate timed steps: CUDA context, the
//                     TorchScript load onto the device, the dtype conversion, first forward (cuDNN
//                     autotuning when benchmark mode is on), second forward, then steady state;
//                     CUDA_MODULE_LOADING is the environment's (the driver sets lazy or eager);
//   --mode selftest   the server's warm-up through engine::Model: the golden probe's self-test (or
//                     zeros, --check 0) as the first pass, its verdict and difference, and ready;
//   --mode graph      the batch-1 forward captured in a CUDA graph (at::cuda::CUDAGraph, static
//                     input, warm-up on a side stream) against the plain forward.
//
// The model is run the way engine::Model runs it (jit::load straight onto the device, eval, .to
// the run dtype, InferenceMode, TorchScript optimiser off), but by hand: Model::load does those
// steps in one call and Model::forward accepts batch 1 only.
//
// Builds against a CPU-only LibTorch too: the CUDA-only parts (graphs, allocator statistics,
// device memory) compile only with CUTOUT_TORCH_CUDA (set by engine_bench.cmake when the LibTorch
// has CUDA) and report "n/a on this build" otherwise, or "n/a on cpu" on a CUDA build run on the
// CPU. Prints one JSON object on stdout; progress on stderr. Exit 1 on an error (reported in the
// JSON), 2 on bad arguments.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include "bench_timing.hpp"

#include "cutout/engine/model.hpp"
#include "cutout/engine/model_metadata.hpp"

#if defined(CUTOUT_TORCH_CUDA)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace {

using cutout::bench::Clock;
using cutout::bench::median;
using cutout::bench::ms_since;
using cutout::bench::sync;
using nlohmann::json;

struct Args {
  std::string mode;
  std::string model;
  std::string device = "cuda";
  std::string precision = "fp16";
  int cudnn_benchmark = 1;  // the engine's choice on CUDA
  std::vector<int> batches{1, 2, 4, 8};
  int warmup = 2;           // per batch size (sweep) or before capture (graph)
  int iters = 10;           // timed forwards per configuration (fewer when over --loop-seconds)
  double loop_seconds = 20;  // a timed loop stops after this, with at least 3 forwards
  int check = 1;            // selftest: 1 = the first pass is the self-test, 0 = a zeros warm-up
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "error: " << why << "\n"
            << "usage: cutout-gpu-probe --mode sweep|coldstart|graph|selftest --model FILE"
               " [--device cpu|cuda] [--precision fp32|fp16] [--cudnn-benchmark 0|1]"
               " [--batches 1,2,4,8] [--warmup N] [--iters N] [--loop-seconds S] [--check 0|1]\n";
  std::exit(2);
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const int v = std::stoi(item);
    if (v < 1) usage("batch sizes must be >= 1");
    out.push_back(v);
  }
  if (out.empty()) usage("empty --batches");
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value for " + flag);
    const std::string v = argv[++i];
    if (flag == "--mode") a.mode = v;
    else if (flag == "--model") a.model = v;
    else if (flag == "--device") a.device = v;
    else if (flag == "--precision") a.precision = v;
    else if (flag == "--cudnn-benchmark") a.cudnn_benchmark = std::stoi(v);
    else if (flag == "--batches") a.batches = parse_list(v);
    else if (flag == "--warmup") a.warmup = std::stoi(v);
    else if (flag == "--iters") a.iters = std::stoi(v);
    else if (flag == "--loop-seconds") a.loop_seconds = std::stod(v);
    else if (flag == "--check") a.check = std::stoi(v);
    else usage("unknown flag " + flag);
  }
  if (a.mode != "sweep" && a.mode != "coldstart" && a.mode != "graph" && a.mode != "selftest") {
    usage("bad --mode");
  }
  if (a.model.empty()) usage("--model is required");
  if (a.device != "cpu" && a.device != "cuda") usage("bad --device " + a.device);
  if (a.precision != "fp32" && a.precision != "fp16") usage("bad --precision " + a.precision);
  if (a.iters < 1 || a.warmup < 0) usage("--iters must be >= 1, --warmup >= 0");
  return a;
}

json spread(const std::vector<double>& v) {
  return {{"median", median(v)},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())},
          {"n", v.size()}};
}

// Why a CUDA-only figure is missing, or "" when it can be measured.
std::string cuda_na(const torch::Device& device) {
#if defined(CUTOUT_TORCH_CUDA)
  return device.is_cuda() ? "" : "n/a on cpu";
#else
  (void)device;
  return "n/a on this build";
#endif
}

// The caching allocator's peak figures since the last reset_peak (bytes requested by tensors and
// bytes reserved from the driver), in MiB; a string saying why where there is no CUDA.
void reset_peak(const torch::Device& device) {
#if defined(CUTOUT_TORCH_CUDA)
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

json peak_memory(const torch::Device& device) {
  const std::string na = cuda_na(device);
  if (!na.empty()) return na;
#if defined(CUTOUT_TORCH_CUDA)
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  // Index 0 is StatType::AGGREGATE (all pools) in every LibTorch version; the enum's namespace
  // moved in 2.x, the index did not.
  const double mib = 1024.0 * 1024.0;
  return {{"allocated_mib", stats.allocated_bytes[0].peak / mib},
          {"reserved_mib", stats.reserved_bytes[0].peak / mib}};
#else
  return na;
#endif
}

// Memory the whole process holds on the device (context, loaded kernel modules, allocator pool):
// what lazy versus eager module loading changes, which the allocator does not see.
json device_memory_used(const torch::Device& device) {
  const std::string na = cuda_na(device);
  if (!na.empty()) return na;
#if defined(CUTOUT_TORCH_CUDA)
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return "cudaMemGetInfo failed";
  return (total_bytes - free_bytes) / (1024.0 * 1024.0);
#else
  return na;
#endif
}

class Runner {
 public:
  Runner(const Args& a, json& report)
      : args_(a),
        report_(report),
        device_(a.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU)),
        dtype_(a.precision == "fp16" ? torch::kHalf : torch::kFloat) {}

  // CUDA context, load, conversion, each timed; cuDNN benchmark mode as asked (the engine sets it
  // on in Model::load for CUDA).
  void load(json& steps) {
    auto t = Clock::now();
    if (device_.is_cuda() && !torch::cuda::is_available()) {
      throw std::runtime_error("--device cuda but torch::cuda::is_available() is false");
    }
    // The first allocation creates the CUDA context and the allocator's first block.
    torch::empty({1}, torch::TensorOptions().device(device_));
    sync(device_);
    steps["context_ms"] = ms_since(t);
    t = Clock::now();
    torch::jit::ExtraFilesMap extra{{cutout::engine::kMetadataFileName, ""}};
    module_ = torch::jit::load(args_.model, device_, extra);
    module_.eval();
    sync(device_);
    steps["load_ms"] = ms_since(t);
    const std::string& meta = extra[cutout::engine::kMetadataFileName];
    const auto metadata = meta.empty() ? cutout::engine::inspyrenet_defaults(1024)
                                       : cutout::engine::parse_model_metadata(meta);
    height_ = metadata.input_height;
    width_ = metadata.input_width;
    t = Clock::now();
    module_.to(dtype_);
    sync(device_);
    steps["to_dtype_ms"] = ms_since(t);
    at::globalContext().setBenchmarkCuDNN(args_.cudnn_benchmark != 0);
    report_["cudnn_benchmark"] = at::globalContext().benchmarkCuDNN();
    report_["input_size"] = {height_, width_};
  }

  torch::Tensor input(int batch) const {
    // Not zeros: a request brings a picture (and zeros can take fast paths).
    return torch::rand({batch, 3, height_, width_}).mul_(4.0).sub_(2.0).to(device_, dtype_);
  }

  // One forward as the engine runs it; returns the first output tensor (the batch check's view).
  torch::Tensor forward(const torch::Tensor& x) {
    c10::InferenceMode guard;
    torch::jit::GraphOptimizerEnabledGuard optimiser(false);
    const c10::IValue out = module_.forward({x});
    if (out.isTensor()) return out.toTensor();
    if (out.isTuple()) return out.toTupleRef().elements().at(0).toTensor();
    if (out.isList()) return out.toList().get(0).toTensor();
    throw std::runtime_error("model output is not a tensor, tuple or list");
  }

  double timed_forward(const torch::Tensor& x) {
    sync(device_);
    const auto t = Clock::now();
    forward(x);
    sync(device_);
    return ms_since(t);
  }

  // Timed forwards until --iters or --loop-seconds (at least 3): fewer, never a killed run.
  template <typename F>
  std::vector<double> loop(F&& once) {
    std::vector<double> ms;
    const auto start = Clock::now();
    for (int i = 0; i < args_.iters; ++i) {
      ms.push_back(once());
      if (ms.size() >= 3 && ms_since(start) > 1000.0 * args_.loop_seconds) break;
    }
    return ms;
  }

  void sweep() {
    json steps;
    load(steps);
    report_["load"] = steps;
    json rows = json::array();
    for (const int batch : args_.batches) {
      reset_peak(device_);
      const auto x = input(batch);
      const auto out = forward(x);  // the first call at a new shape autotunes
      if (out.dim() == 0 || out.size(0) != batch) {
        throw std::runtime_error("batch " + std::to_string(batch) + " gave output " +
                                 c10::str(out.sizes()) + ": the export fixes the batch size");
      }
      for (int i = 1; i < args_.warmup; ++i) forward(x);
      sync(device_);
      const auto ms = loop([&] { return timed_forward(x); });
      const double med = median(ms);
      rows.push_back({{"batch", batch},
                      {"forward_ms", spread(ms)},
                      {"images_per_s", 1000.0 * batch / med},
                      {"per_image_ms", med / batch},
                      {"peak", peak_memory(device_)}});
      std::cerr << "gpu-probe: sweep batch " << batch << ": " << med << " ms, "
                << 1000.0 * batch / med << " images/s\n";
    }
    report_["sweep"] = rows;
  }

  void coldstart() {
    const auto t0 = Clock::now();
    json steps;
    load(steps);
    const auto x = input(1);
    sync(device_);
    steps["forward1_ms"] = timed_forward(x);  // cuDNN autotuning here when benchmark mode is on
    steps["ready_ms"] = ms_since(t0);          // in process: what the server's warm-up reaches
    std::cout << "READY" << std::endl;         // the driver's exec-to-ready mark
    steps["forward2_ms"] = timed_forward(x);
    const auto ms = loop([&] { return timed_forward(x); });
    steps["steady_ms"] = spread(ms);
    report_["steps"] = steps;
    report_["peak"] = peak_memory(device_);
    report_["device_used_mib"] = device_memory_used(device_);
    const char* loading = std::getenv("CUDA_MODULE_LOADING");
    report_["cuda_module_loading"] = loading ? loading : "(unset)";
  }

  void graph() {
    json steps;
    load(steps);
    report_["load"] = steps;
    auto x = input(1);
    reset_peak(device_);
    for (int i = 0; i < std::max(1, args_.warmup); ++i) forward(x);
    const auto plain = loop([&] { return timed_forward(x); });
    const auto reference = forward(x).to(torch::kFloat).cpu();
    report_["plain"] = {{"forward_ms", spread(plain)}, {"peak", peak_memory(device_)}};
    const std::string na = cuda_na(device_);
    if (!na.empty()) {
      report_["graph"] = na;
      return;
    }
#if defined(CUTOUT_TORCH_CUDA)
    reset_peak(device_);
    // Capture needs a side stream, and the ops must have run on it once first (lazy
    // initialisation such as cuBLAS workspaces or cuDNN plans may not happen inside a capture).
    // Captured on another picture than x: the check below copies x in, as a request would.
    auto static_in = input(1);
    torch::Tensor static_out;
    at::cuda::CUDAGraph graph;
    const auto t_capture = Clock::now();
    sync(device_);
    {
      auto side = c10::cuda::getStreamFromPool(false, device_.index());
      c10::cuda::CUDAStreamGuard on_side(side);
      for (int i = 0; i < 3; ++i) forward(static_in);
      side.synchronize();
      graph.capture_begin();
      static_out = forward(static_in);
      graph.capture_end();
    }
    sync(device_);
    const double capture_ms = ms_since(t_capture);
    const auto replay = [&] {
      sync(device_);
      const auto t = Clock::now();
      graph.replay();
      sync(device_);
      return ms_since(t);
    };
    replay();  // the first replay uploads the graph
    const auto replayed = loop(replay);
    // A new picture goes in by copying into the static input; the output must follow it.
    static_in.copy_(x);
    graph.replay();
    sync(device_);
    const double diff =
        (static_out.to(torch::kFloat).cpu() - reference).abs().max().item<double>();
    report_["graph"] = {{"forward_ms", spread(replayed)},
                        {"capture_ms", capture_ms},
                        {"max_abs_diff_vs_plain", diff},
                        {"peak", peak_memory(device_)}};
    std::cerr << "gpu-probe: graph " << median(replayed) << " ms vs plain " << median(plain)
              << " ms\n";
#endif
  }

  // The server's warm-up, through engine::Model itself (its precision conversion, fp32_modules,
  // cuDNN benchmark on CUDA): load, then the first pass on the golden probe compared with the
  // file's golden (--check 1) or on zeros as before the self-test (--check 0), READY, then one
  // more pass of each kind. The driver runs both checks as fresh processes: the difference of
  // their exec-to-ready is what the self-test adds to ready. A failed self-test is a result here
  // (passed false with the server's reason), not an error.
  void selftest() {
    const auto t0 = Clock::now();
    if (device_.is_cuda() && !torch::cuda::is_available()) {
      throw std::runtime_error("--device cuda but torch::cuda::is_available() is false");
    }
    json steps;
    auto t = Clock::now();
    auto model = cutout::engine::Model::load(args_.model, device_, dtype_, 1024);
    steps["load_ms"] = ms_since(t);
    if (!model.golden()) throw std::runtime_error("the model file has no golden (cutout_golden.json)");
    const auto result_json = [](const cutout::engine::SelfTestResult& r) {
      return json{{"passed", r.passed}, {"max_difference", r.max_difference}, {"tolerance", r.tolerance},
                  {"min", r.min}, {"max", r.max}, {"mean", r.mean}, {"reason", r.reason}};
    };
    t = Clock::now();
    if (args_.check) {
      report_["self_test"] = result_json(model.self_test());
    } else {
      model.warm_up();
    }
    steps["first_pass_ms"] = ms_since(t);
    steps["ready_ms"] = ms_since(t0);
    std::cout << "READY" << std::endl;
    t = Clock::now();
    model.warm_up();
    steps["zeros_pass_ms"] = ms_since(t);
    t = Clock::now();
    const auto again = model.self_test();
    steps["probe_pass_ms"] = ms_since(t);
    if (!args_.check) report_["self_test_after_ready"] = result_json(again);
    report_["steps"] = steps;
    report_["check"] = args_.check;
    report_["fp32_modules"] = model.metadata().fp32_modules.size();
    std::cerr << "gpu-probe: selftest check=" << args_.check << " first pass " << steps["first_pass_ms"]
              << " ms, ready " << steps["ready_ms"] << " ms\n";
  }

 private:
  const Args& args_;
  json& report_;
  torch::Device device_;
  torch::ScalarType dtype_;
  torch::jit::Module module_;
  int64_t height_ = 0;
  int64_t width_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  json report{{"tool", "cutout-gpu-probe"},
              {"mode", args.mode},
              {"model", args.model},
              {"device", args.device},
              {"precision", args.precision},
              {"libtorch", TORCH_VERSION},
#if defined(CUTOUT_TORCH_CUDA)
              {"cuda_build", true}
#else
              {"cuda_build", false}
#endif
  };
  try {
    Runner runner(args, report);
    if (args.mode == "sweep") runner.sweep();
    else if (args.mode == "coldstart") runner.coldstart();
    else if (args.mode == "selftest") runner.selftest();
    else runner.graph();
  } catch (const c10::Error& e) {
    report["error"] = e.what_without_backtrace();
  } catch (const std::exception& e) {
    report["error"] = e.what();
  }
  std::cout << report.dump() << std::endl;
  return report.contains("error") ? 1 : 0;
}
