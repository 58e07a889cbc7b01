#include "cutout/engine/inference_gate.hpp"

#include <string>

#include "cutout/core/error.hpp"

namespace cutout::engine {
namespace {
double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

InferenceGate::InferenceGate(std::size_t capacity, std::chrono::milliseconds max_wait)
    : capacity_(capacity == 0 ? 1 : capacity),
      max_wait_(max_wait < std::chrono::milliseconds::zero() ? std::chrono::milliseconds::zero() : max_wait) {}

std::uint64_t InferenceGate::rejected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rejected_;
}

std::uint64_t InferenceGate::timed_out() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timed_out_;
}

std::size_t InferenceGate::inside() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::size_t>(next_ticket_ - now_serving_) - abandoned_.size();
}

void InferenceGate::pass_turn() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++now_serving_;
    // Tickets whose holders gave up are skipped; each is erased as the turn passes it.
    while (abandoned_.erase(now_serving_) == 1) ++now_serving_;
  }
  turn_changed_.notify_all();
}

InferenceGate::Timing InferenceGate::run(const std::function<void()>& work) {
  const auto arrived = std::chrono::steady_clock::now();
  {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::size_t inside_now = static_cast<std::size_t>(next_ticket_ - now_serving_) - abandoned_.size();
    if (inside_now >= capacity_) {
      ++rejected_;
      throw Error(ErrorKind::Overloaded, "queue_full",
                  "the inference queue is full (" + std::to_string(capacity_) + " requests)");
    }
    const std::uint64_t ticket = next_ticket_++;
    const auto my_turn = [&] { return now_serving_ == ticket; };
    if (max_wait_ == std::chrono::milliseconds::zero()) {
      turn_changed_.wait(lock, my_turn);
    } else if (!turn_changed_.wait_until(lock, arrived + max_wait_, my_turn)) {
      // Leave the queue: the request ahead will skip this ticket when it passes the turn on.
      abandoned_.insert(ticket);
      ++timed_out_;
      throw Error(ErrorKind::Overloaded, "queue_timeout",
                  "waited " + std::to_string(max_wait_.count()) +
                      " ms for the model without getting a turn; try again later");
    }
  }
  // The mutex is released while `work` runs: only the ticket order serialises it.
  const auto started = std::chrono::steady_clock::now();
  struct PassTurn {
    InferenceGate* gate;
    ~PassTurn() { gate->pass_turn(); }
  } pass_turn_on_exit{this};
  work();
  const auto finished = std::chrono::steady_clock::now();
  return Timing{ms_between(arrived, started), ms_between(started, finished)};
}

}  // namespace cutout::engine
