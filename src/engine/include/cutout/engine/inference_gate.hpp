#pragma once
// Serialises forward passes on the one model instance through a bounded FIFO: requests beyond the
// bound are refused at once (the caller answers 503 + Retry-After) instead of queueing without
// limit. Only the forward pass goes through here; decoding and encoding run in parallel outside.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>

namespace cutout::engine {

class InferenceGate {
 public:
  // `capacity`: how many requests may be inside at once, the running one included.
  explicit InferenceGate(std::size_t capacity);

  struct Timing {
    double queue_ms = 0;  // waiting for the turn
    double run_ms = 0;    // running `work`
  };

  // Runs `work` when its turn comes, in arrival order. Throws cutout::Error (Overloaded,
  // "queue_full") when `capacity` requests are already inside; rethrows what `work` throws.
  Timing run(const std::function<void()>& work);

  std::size_t inside() const;
  std::size_t capacity() const { return capacity_; }
  // Requests refused with queue_full since the gate was made (for /metrics).
  std::uint64_t rejected() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable turn_changed_;
  std::uint64_t next_ticket_ = 0;
  std::uint64_t now_serving_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace cutout::engine
