#pragma once
// The use case: image bytes in, cut-out bytes out. Decoding, preprocessing and encoding run on the
// caller's thread, in parallel with other requests; only the forward pass waits its turn.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cutout/imaging/decode.hpp"
#include "cutout/imaging/encode.hpp"
#include "cutout/service/memory_budget.hpp"
#include "cutout/service/model_loader.hpp"
#include "cutout/service/readiness.hpp"
#include "cutout/service/request_options.hpp"

namespace cutout::engine {
class InferenceGate;
}

namespace cutout::service {

struct StageTimings {
  double decode_ms = 0;
  double preprocess_ms = 0;
  double queue_ms = 0;      // waiting for the model
  double inference_ms = 0;  // the forward pass itself
  double postprocess_ms = 0;
  double encode_ms = 0;
};

// The subject's bounding box (alpha >= imaging::kSubjectAlphaThreshold) in output pixels.
struct ForegroundBox {
  int left = 0, top = 0, width = 0, height = 0;
};

struct RemoveBackgroundResult {
  std::string body;
  std::string content_type;
  int width = 0;   // the output's size: the input's after orientation, crop and max_side
  int height = 0;
  std::optional<ForegroundBox> foreground;  // nullopt: no pixel reaches the threshold
  StageTimings timings;
};

class BackgroundRemover {
 public:
  BackgroundRemover(Readiness& readiness, const ModelLoader& loader,
                    engine::InferenceGate& gate, imaging::DecodeLimits limits,
                    imaging::EncodeOptions encode_options, MemoryBudget* budget = nullptr);

  // Throws cutout::Error only: NotReady ("not_ready") while loading, ModelFailed
  // ("model_failed") after a failed start, Overloaded ("busy") when the request's estimated peak
  // does not fit in `budget` now, PayloadTooLarge ("image_too_large") when it exceeds the whole
  // budget (both before decoding), the decoder's errors, Overloaded ("queue_full",
  // "queue_timeout") from the inference gate, ClientGone ("client_gone") when
  // options.client_gone says so at the turn, Internal ("inference_failed",
  // "image_processing_failed") when LibTorch or OpenCV fail, with their message in
  // Error::detail(), and "inference_failed" too when the model's answer holds NaN or Inf. An
  // inference failure before any forward pass has succeeded (--warmup-runs 0) also turns the
  // readiness Failed (Readiness::fail_unproven).
  RemoveBackgroundResult remove(std::string_view image_bytes,
                                const RemoveBackgroundOptions& options) const;

  // Forward passes run for requests since this remover was made (the warm-up's are not counted).
  std::uint64_t forward_passes() const { return forward_passes_.load(); }

 private:
  RemoveBackgroundResult run(std::string_view image_bytes, const RemoveBackgroundOptions& options) const;

  Readiness& readiness_;  // an unproven model's first failed forward pass turns it Failed
  const ModelLoader& loader_;
  engine::InferenceGate& gate_;
  imaging::DecodeLimits limits_;
  imaging::EncodeOptions encode_options_;
  MemoryBudget* budget_;  // null: no budget (tests)
  mutable std::atomic<std::uint64_t> forward_passes_{0};
};

}  // namespace cutout::service
