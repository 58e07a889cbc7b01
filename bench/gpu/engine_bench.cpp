// cutout-engine-bench: the engine alone (no HTTP, no OpenCV), timed from inside one process the way
// cutout-server starts: choose the device, load the TorchScript file through engine::Model, warm
// up, then time forward passes at the model's size. Prints "READY" on stdout the moment the model
// is warm (the driver, bench/gpu/compare.py, timestamps that line for exec-to-ready), then one JSON
// object. Progress goes to stderr. Builds with -DCUTOUT_ENGINE_BENCH=ON
// (bench/gpu/engine_bench.cmake).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include "bench_timing.hpp"

#include "cutout/engine/device.hpp"
#include "cutout/engine/model.hpp"
#include "cutout/engine/pil_resize.hpp"
#include "cutout/engine/tensor_pipeline.hpp"

namespace {

using cutout::bench::Clock;
using cutout::bench::median;
using cutout::bench::ms_since;
using cutout::bench::sync;
using cutout::engine::DeviceSetting;
using cutout::engine::PrecisionSetting;

struct Args {
  std::string model;
  DeviceSetting device = DeviceSetting::Auto;
  PrecisionSetting precision = PrecisionSetting::Auto;
  int warmup = 1;
  int runs = 10;
  int threads = 0;         // 0: LibTorch's default
  int cudnn_benchmark = -1;  // -1: the engine's choice; 0/1 override it after load
  std::vector<int> pipeline_pixels;  // also time the device half of a request for images this big
  std::string jit_executor = "engine";  // engine (Model::load's choice) | profiling | no-optimize
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "error: " << why << "\n"
            << "usage: cutout-engine-bench --model FILE [--device auto|cpu|cuda]"
               " [--precision auto|fp32|fp16] [--warmup N] [--runs N] [--threads N]"
               " [--cudnn-benchmark 0|1] [--jit-executor engine|profiling|no-optimize]"
               " [--pipeline-megapixels N]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value for " + flag);
    const std::string v = argv[++i];
    if (flag == "--model") {
      a.model = v;
    } else if (flag == "--device") {
      if (v == "auto") a.device = DeviceSetting::Auto;
      else if (v == "cpu") a.device = DeviceSetting::Cpu;
      else if (v == "cuda") a.device = DeviceSetting::Cuda;
      else usage("bad --device " + v);
    } else if (flag == "--precision") {
      if (v == "auto") a.precision = PrecisionSetting::Auto;
      else if (v == "fp32") a.precision = PrecisionSetting::Fp32;
      else if (v == "fp16") a.precision = PrecisionSetting::Fp16;
      else usage("bad --precision " + v);
    } else if (flag == "--warmup") {
      a.warmup = std::stoi(v);
    } else if (flag == "--runs") {
      a.runs = std::stoi(v);
    } else if (flag == "--threads") {
      a.threads = std::stoi(v);
    } else if (flag == "--cudnn-benchmark") {
      a.cudnn_benchmark = std::stoi(v);
    } else if (flag == "--jit-executor") {
      if (v != "engine" && v != "profiling" && v != "no-optimize") usage("bad --jit-executor " + v);
      a.jit_executor = v;
    } else if (flag == "--pipeline-megapixels") {
      // A comma-separated list of megapixels (0.5, 3, 12, 24: bench/pipeline's sizes).
      std::size_t start = 0;
      while (start <= v.size()) {
        const std::size_t comma = std::min(v.find(',', start), v.size());
        const double mp = std::stod(v.substr(start, comma - start));
        if (mp > 0) a.pipeline_pixels.push_back(static_cast<int>(mp * 1e6));
        start = comma + 1;
      }
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (a.model.empty()) usage("--model is required");
  if (a.runs < 0 || a.warmup < 0) usage("--runs and --warmup must be >= 0");
  return a;
}

// The device half of a request for an image of about `pixels` 4:3 pixels, as
// service::BackgroundRemover runs it: preprocessing (uint8 image -> model input on the device),
// the forward pass, and the mask's way back to the image's size on the host; from pageable memory
// (what the decoder writes into) and from pinned.
nlohmann::json time_pipeline(cutout::engine::Model& model, int pixels, int repeats) {
  const int width = static_cast<int>(std::sqrt(pixels * 4.0 / 3.0));
  const int height = pixels / width;
  const auto& meta = model.metadata();
  const auto device = model.device();
  auto image = torch::randint(0, 256, {height, width, 3}, torch::kByte);
  nlohmann::json out{{"width", width}, {"height", height}};
  std::vector<std::pair<std::string, torch::Tensor>> sources{{"pageable", image}};
  if (device.is_cuda()) sources.emplace_back("pinned", image.pin_memory());
  for (const auto& [name, source] : sources) {
    std::vector<double> pre, fwd, post, total;
    for (int i = 0; i < repeats + 1; ++i) {  // the first is a warm-up
      const auto t_start = Clock::now();
      auto t = t_start;
      auto input = cutout::engine::make_model_input(source, meta, device, model.dtype());
      sync(device);
      const double pre_ms = ms_since(t);
      t = Clock::now();
      auto probability = model.forward(input);  // synchronises on CUDA
      const double forward_ms = ms_since(t);
      t = Clock::now();
      auto mask = cutout::engine::mask_to_image_size(probability, height, width);
      const double post_ms = ms_since(t);
      if (i > 0) {
        pre.push_back(pre_ms);
        fwd.push_back(forward_ms);
        post.push_back(post_ms);
        total.push_back(ms_since(t_start));
      }
    }
    out[name] = {{"preprocess_ms", median(pre)}, {"forward_ms", median(fwd)},
                 {"mask_resize_ms", median(post)}, {"total_ms", median(total)}};
  }
  // The resize alone, [3, H, W] uint8 on the device -> the model's size, as make_model_input runs
  // it, and (on the CPU) the tensor-op version that other devices use.
  const auto planar = image.permute({2, 0, 1}).contiguous().to(device);
  const auto time_resize = [&](auto&& resize) {
    std::vector<double> ms;
    for (int i = 0; i < repeats + 1; ++i) {
      sync(device);
      const auto t = Clock::now();
      resize(planar, meta.input_height, meta.input_width);
      sync(device);
      if (i > 0) ms.push_back(ms_since(t));
    }
    return median(ms);
  };
  out["resize_ms"] = time_resize(cutout::engine::pil_bilinear_resize);
  if (device.is_cpu()) {
    out["resize_tensor_ops_ms"] = time_resize(cutout::engine::pil_bilinear_resize_with_tensor_ops);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t0 = Clock::now();
  const Args args = parse(argc, argv);
  if (args.threads > 0) at::set_num_threads(args.threads);
  nlohmann::json report{{"impl", "cutout-engine"},
                        {"model", args.model},
                        {"libtorch", TORCH_VERSION},
                        {"intra_op_threads", at::get_num_threads()}};
  try {
    const auto target = cutout::engine::choose_compute_target(args.device, args.precision);
    report["device"] = cutout::engine::device_name(target.device);
    report["precision"] = cutout::engine::dtype_name(target.dtype);
    const double selected_ms = ms_since(t0);
    std::cerr << "engine-bench: device " << report["device"].get<std::string>() << " ("
              << target.reason << "), " << report["precision"].get<std::string>() << "\n";

    // As in cutout-server: load and warm up on a loader thread, serve forwards on another (the
    // HTTP workers there, this main thread here). Some LibTorch switches are thread-local.
    std::unique_ptr<cutout::engine::Model> model;
    std::vector<double> warmups;
    double loaded_ms = 0;
    std::exception_ptr load_error;
    std::thread loader([&] {
      try {
        model = std::make_unique<cutout::engine::Model>(
            cutout::engine::Model::load(args.model, target.device, target.dtype, 1024));
        sync(target.device);
        loaded_ms = ms_since(t0);
        if (args.cudnn_benchmark >= 0) {
          at::globalContext().setBenchmarkCuDNN(args.cudnn_benchmark != 0);
        }
        report["cudnn_benchmark"] = at::globalContext().benchmarkCuDNN();
        // Before the first forward: the executor is built then. The engine's default is the
        // optimiser off (Model::forward); "profiling" is LibTorch's default, optimiser on.
        if (args.jit_executor == "profiling") {
          torch::jit::getProfilingMode() = true;
          model->set_graph_optimizer(true);
        } else if (args.jit_executor == "no-optimize") {
          model->set_graph_optimizer(false);
        }
        report["jit_executor"] = args.jit_executor;
        report["jit_optimize"] = args.jit_executor == "profiling";
        report["jit_profiling"] = torch::jit::getProfilingMode().load();

        for (int i = 0; i < args.warmup; ++i) {
          const auto t = Clock::now();
          model->warm_up();  // synchronises on CUDA
          warmups.push_back(ms_since(t));
        }
      } catch (...) {
        load_error = std::current_exception();
      }
    });
    loader.join();
    if (load_error) std::rethrow_exception(load_error);
    const double ready_ms = ms_since(t0);
    std::cout << "READY" << std::endl;
    std::cerr << "engine-bench: ready after " << ready_ms << " ms in process\n";

    // The timed input is not the warm-up's zeros: a request brings a real picture.
    const auto& meta = model->metadata();
    auto input = torch::rand({1, 3, meta.input_height, meta.input_width})
                     .mul_(4.0)
                     .sub_(2.0)
                     .to(target.device, target.dtype);
    sync(target.device);
    std::vector<double> forwards;
    for (int i = 0; i < args.runs; ++i) {
      const auto t = Clock::now();
      auto mask = model->forward(input);  // synchronises on CUDA
      forwards.push_back(ms_since(t));
    }
    report["in_process_ms"] = {{"device_selected", selected_ms},
                               {"model_loaded", loaded_ms},
                               {"ready", ready_ms}};
    report["input_size"] = {meta.input_height, meta.input_width};
    report["warmup_ms"] = warmups;
    report["forward_ms"] = forwards;
    if (!forwards.empty()) {  // --runs 0: start-up only
      std::vector<double> steady(forwards.begin() + (forwards.size() > 1 ? 1 : 0), forwards.end());
      report["first_after_ready_ms"] = forwards.front();
      report["steady_median_ms"] = median(steady);
      report["first_over_steady"] = forwards.front() / median(steady);
    }
    if (!args.pipeline_pixels.empty()) {
      report["pipeline"] = nlohmann::json::array();
      for (const int pixels : args.pipeline_pixels) {
        report["pipeline"].push_back(time_pipeline(*model, pixels, 5));
      }
    }
  } catch (const std::exception& e) {
    report["error"] = e.what();
    std::cout << report.dump() << std::endl;
    return 1;
  }
  std::cout << report.dump() << std::endl;
  return 0;
}
