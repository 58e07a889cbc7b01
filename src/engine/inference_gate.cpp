#include "cutout/engine/inference_gate.hpp"

#include <chrono>

#include "cutout/core/error.hpp"

namespace cutout::engine {
namespace {
double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

InferenceGate::InferenceGate(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::uint64_t InferenceGate::rejected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rejected_;
}

std::size_t InferenceGate::inside() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::size_t>(next_ticket_ - now_serving_);
}

InferenceGate::Timing InferenceGate::run(const std::function<void()>& work) {
  const auto arrived = std::chrono::steady_clock::now();
  std::uint64_t ticket = 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (next_ticket_ - now_serving_ >= capacity_) {
      ++rejected_;
      throw Error(ErrorKind::Overloaded, "queue_full",
                  "the inference queue is full (" + std::to_string(capacity_) + " requests)");
    }
    ticket = next_ticket_++;
    turn_changed_.wait(lock, [&] { return now_serving_ == ticket; });
  }
  // The mutex is released while `work` runs: only the ticket order serialises it.
  const auto started = std::chrono::steady_clock::now();
  struct PassTurn {
    InferenceGate* gate;
    ~PassTurn() {
      {
        std::lock_guard<std::mutex> lock(gate->mutex_);
        ++gate->now_serving_;
      }
      gate->turn_changed_.notify_all();
    }
  } pass_turn{this};
  work();
  const auto finished = std::chrono::steady_clock::now();
  return Timing{ms_between(arrived, started), ms_between(started, finished)};
}

}  // namespace cutout::engine
