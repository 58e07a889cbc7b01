#pragma once
// The one readiness state every route reads. Reads are lock-free atomics; the mutex and condition
// variable exist only so /warmup can sleep until the state changes instead of polling.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace cutout::service {

enum class Phase : int { Starting = 0, LoadingModel, WarmingUp, Ready, Failed };
std::string to_string(Phase phase);

// Moments of the start-up, measured from process creation (see core/process_clock).
enum class Milestone : int {
  PortOpen = 0,
  LoadStarted,
  DeviceSelected,
  ModelLoaded,
  Ready,
  Failed,
  Count
};
std::string to_string(Milestone milestone);

struct Timeline {
  // Milliseconds since process start for each milestone reached so far.
  std::array<std::optional<double>, static_cast<int>(Milestone::Count)> at_ms;
  std::optional<double> at(Milestone m) const { return at_ms[static_cast<int>(m)]; }
};

// {"since_process_start_ms": {"port_open_ms": ..., ...}, "phase_duration_ms": {"starting": ...}}:
// the form /warmup returns and the "ready" log line carries.
nlohmann::json to_json(const Timeline& timeline);

// Typical duration in ms of each phase before Ready (starting, loading_model, warming_up): the basis
// of the remaining-time estimate (see startup_progress.hpp).
using PhaseDurations = std::array<double, 3>;

class Readiness {
 public:
  Phase phase() const noexcept { return phase_.load(std::memory_order_acquire); }
  bool ready() const noexcept { return phase() == Phase::Ready; }

  // Forward-only transitions: Starting -> LoadingModel -> WarmingUp -> Ready. Each records its
  // milestone. A transition out of Ready or Failed is ignored (the state never lies backwards).
  void enter(Phase next);
  void mark(Milestone milestone);

  // Publishes the reason, then the state: a reader that sees Failed always sees the reason.
  // `reason` is for the log only (it may hold the model path, a LibTorch message); `public_reason`
  // is a short code anyone may read from /health ("model_load_failed", "self_test_failed", ...).
  void fail(const std::string& reason, const std::string& public_reason = "start_up_failed");
  std::string failure_reason() const;         // empty unless phase() == Failed
  std::string public_failure_reason() const;  // empty unless phase() == Failed

  // A model is proven once one forward pass has succeeded: a warm-up pass, or a request's when
  // there is none (--warmup-runs 0). Until then Ready only means "loaded".
  void mark_proven() noexcept { proven_.store(true, std::memory_order_release); }
  bool proven() const noexcept { return proven_.load(std::memory_order_acquire); }
  // A forward pass of an unproven model failed: the model never worked, so the instance turns
  // Failed (the one transition out of Ready) and exits as a failed start would. Ignored once
  // proven: a later failure may be the input's, and the model has shown it runs. True when this
  // call made the change (so its caller logs it once).
  bool fail_unproven(const std::string& reason);

  // Blocks until Ready or Failed, or until the timeout; returns the phase at that moment.
  Phase wait_until_settled(std::chrono::milliseconds timeout) const;

  Timeline timeline() const;
  // Milliseconds since the current phase began (since process start for Starting).
  double ms_in_current_phase() const;

  // Set by the loader when it knows the model file and the device; read lock-free by /health. A
  // reader may see a mix of two settings for an instant, which only moves an estimate.
  void set_typical_durations(const PhaseDurations& typical_ms);
  PhaseDurations typical_durations() const;

 private:
  void publish(Phase next);

  std::atomic<Phase> phase_{Phase::Starting};
  std::atomic<bool> failure_claimed_{false};
  std::atomic<bool> proven_{false};
  std::string failure_reason_;  // written once, before phase_ becomes Failed
  std::string public_failure_reason_;  // likewise
  std::array<std::atomic<std::int64_t>, static_cast<int>(Milestone::Count)> milestone_ns_{};
  std::atomic<std::int64_t> phase_started_ns_{0};
  std::array<std::atomic<double>, 3> typical_ms_{};

  mutable std::mutex wait_mutex_;
  mutable std::condition_variable changed_;
};

}  // namespace cutout::service
