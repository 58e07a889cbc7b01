#pragma once
// Serialises forward passes on the one model instance through a bounded FIFO: requests beyond the
// bound are refused at once, and a request whose turn does not come within the maximum queue wait
// leaves the queue (the caller answers 503 + Retry-After either way) instead of waiting without
// limit. Only the forward pass goes through here; decoding and encoding run in parallel outside.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>

namespace cutout::engine {

class InferenceGate {
 public:
  // `capacity`: how many requests may be inside at once, the running one included.
  // `max_wait`: the longest a request waits for its turn (Triton's max_queue_delay); zero: no limit.
  explicit InferenceGate(std::size_t capacity,
                         std::chrono::milliseconds max_wait = std::chrono::milliseconds::zero());

  struct Timing {
    double queue_ms = 0;  // waiting for the turn
    double run_ms = 0;    // running `work`
  };

  // Runs `work` when its turn comes, in arrival order. Throws cutout::Error (Overloaded):
  // "queue_full" when `capacity` requests are already inside, "queue_timeout" when the turn has
  // not come after `max_wait` (the request leaves the queue; `work` never runs). Rethrows what
  // `work` throws.
  Timing run(const std::function<void()>& work);

  std::size_t inside() const;
  std::size_t capacity() const { return capacity_; }
  std::chrono::milliseconds max_wait() const { return max_wait_; }
  // Requests refused with queue_full since the gate was made (for /metrics).
  std::uint64_t rejected() const;
  // Requests that left with queue_timeout since the gate was made (for /metrics).
  std::uint64_t timed_out() const;

 private:
  void pass_turn();  // the running request is done: serve the next ticket still waiting

  const std::size_t capacity_;
  const std::chrono::milliseconds max_wait_;
  mutable std::mutex mutex_;
  std::condition_variable turn_changed_;
  std::uint64_t next_ticket_ = 0;
  std::uint64_t now_serving_ = 0;
  std::set<std::uint64_t> abandoned_;  // tickets above now_serving_ whose holder timed out
  std::uint64_t rejected_ = 0;
  std::uint64_t timed_out_ = 0;
};

}  // namespace cutout::engine
