#include "cutout/service/remove_background.hpp"

#include <chrono>

#include <c10/util/Exception.h>
#include <opencv2/core.hpp>
#include <torch/types.h>

#include "cutout/core/error.hpp"
#include "cutout/engine/inference_gate.hpp"
#include "cutout/engine/model.hpp"
#include "cutout/engine/tensor_pipeline.hpp"
#include "cutout/service/memory_estimate.hpp"
#include "cutout/logging/logging.hpp"
#include "model_output_check.hpp"
#include "shape_output.hpp"

namespace cutout::service {
namespace {

class Stopwatch {
 public:
  double lap_ms() {
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

engine::Model& ready_model(const Readiness& readiness, const ModelLoader& loader) {
  const Phase phase = readiness.phase();
  if (phase == Phase::Failed) {
    throw Error(ErrorKind::ModelFailed, "model_failed",
                "the model failed to load (" + readiness.public_failure_reason() +
                    "); the reason is in this instance's log");
  }
  engine::Model* model = loader.model();
  if (phase != Phase::Ready || model == nullptr) {
    throw Error(ErrorKind::NotReady, "not_ready",
                "the model is not ready yet (phase " + to_string(phase) + ")");
  }
  return *model;
}

// A view of the cv::Mat's pixels as a tensor; valid while the Mat lives.
torch::Tensor as_tensor(const cv::Mat& bgr) {
  return torch::from_blob(const_cast<std::uint8_t*>(bgr.ptr<std::uint8_t>()),
                          {bgr.rows, bgr.cols, 3}, torch::kByte);
}

constexpr const char* kInternal = "internal error while processing the request";

// The forward pass, with every failure as a cutout::Error. The TorchScript interpreter rethrows
// an op's c10::Error as a plain std::runtime_error carrying the script's traceback.
torch::Tensor forward(engine::Model& model, const torch::Tensor& input) {
  try {
    return model.forward(input);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Internal, "inference_failed", kInternal, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Internal, "inference_failed", kInternal, e.what());
  }
}

}  // namespace

BackgroundRemover::BackgroundRemover(Readiness& readiness, const ModelLoader& loader,
                                     engine::InferenceGate& gate, imaging::DecodeLimits limits,
                                     imaging::EncodeOptions encode_options, MemoryBudget* budget)
    : readiness_(readiness),
      loader_(loader),
      gate_(gate),
      limits_(limits),
      encode_options_(encode_options),
      budget_(budget) {}

RemoveBackgroundResult BackgroundRemover::remove(std::string_view image_bytes,
                                                 const RemoveBackgroundOptions& options) const {
  // The libraries' own exceptions stop here, so the layers above need none of their headers:
  // they become internal errors whose library message goes to the log, not to the client.
  try {
    return run(image_bytes, options);
  } catch (const c10::Error& e) {  // not a std::runtime_error: caught on its own
    throw Error(ErrorKind::Internal, "inference_failed", kInternal, e.what_without_backtrace());
  } catch (const cv::Exception& e) {
    throw Error(ErrorKind::Internal, "image_processing_failed", kInternal, e.what());
  }
}

RemoveBackgroundResult BackgroundRemover::run(std::string_view image_bytes,
                                              const RemoveBackgroundOptions& options) const {
  engine::Model& model = ready_model(readiness_, loader_);
  RemoveBackgroundResult result;
  Stopwatch watch;

  // The estimated peak is reserved from the header alone, before anything big is allocated, and
  // held until the result is encoded. An unreadable header reserves nothing: the decoder refuses it.
  MemoryBudget::Reservation reserved;
  const auto shape = request_shape(image_bytes, limits_.max_pixels, model.metadata().input_width,
                                   model.metadata().input_height);
  if (budget_ != nullptr && shape) reserved = budget_->admit(estimate_peak_bytes(*shape, options));

  const imaging::DecodedImage image = imaging::decode_image(image_bytes, limits_);
  const int width = image.bgr.cols, height = image.bgr.rows;
  result.timings.decode_ms = watch.lap_ms();

  const torch::Tensor input =
      engine::make_model_input(as_tensor(image.bgr), model.metadata(), model.device(), model.dtype());
  result.timings.preprocess_ms = watch.lap_ms();

  torch::Tensor probability;
  engine::InferenceGate::Timing gate_timing;
  try {
    gate_timing = gate_.run([&] {
      // Checked at the turn, not before: a client that left while queued costs no forward pass.
      if (options.client_gone && options.client_gone()) {
        throw Error(ErrorKind::ClientGone, "client_gone", "the client closed the connection while queued");
      }
      forward_passes_.fetch_add(1);
      probability = forward(model, input);
    });
    check_model_output(probability);
  } catch (const Error& e) {
    // With no warm-up pass, this may be the model's first forward: one that never worked fails
    // the instance (exit 3) instead of answering 500 for ever while /health says ready.
    if (e.type() == "inference_failed" &&
        readiness_.fail_unproven("inference_failed; the request's log line has the cause")) {
      log_event(spdlog::level::err, "model failed", {{"reason", readiness_.failure_reason()}});
    }
    throw;
  }
  if (!readiness_.proven()) readiness_.mark_proven();
  result.timings.queue_ms = gate_timing.queue_ms;
  result.timings.inference_ms = gate_timing.run_ms;
  watch.lap_ms();

  const torch::Tensor mask_tensor =
      engine::mask_to_image_size(probability, height, width);
  const cv::Mat mask(height, width, CV_8UC1, mask_tensor.data_ptr<std::uint8_t>());
  ShapedOutput shaped = shape_output(image, mask, options);
  result.width = shaped.picture.cols;
  result.height = shaped.picture.rows;
  result.foreground = shaped.foreground;
  result.timings.postprocess_ms = watch.lap_ms();

  result.body = imaging::encode_image(shaped.picture, options.format, encode_options_);
  result.content_type = imaging::mime_type(options.format);
  result.timings.encode_ms = watch.lap_ms();
  return result;
}

}  // namespace cutout::service
