#include "cutout/service/readiness.hpp"

#include "cutout/core/process_clock.hpp"

namespace cutout::service {
namespace {

constexpr std::int64_t kUnset = -1;

std::int64_t now_ns_since_start() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              process_start_time())
      .count();
}

bool is_final(Phase p) { return p == Phase::Ready || p == Phase::Failed; }

}  // namespace

std::string to_string(Phase phase) {
  switch (phase) {
    case Phase::Starting: return "starting";
    case Phase::LoadingModel: return "loading_model";
    case Phase::WarmingUp: return "warming_up";
    case Phase::Ready: return "ready";
    case Phase::Failed: return "failed";
  }
  return "unknown";
}

std::string to_string(Milestone milestone) {
  switch (milestone) {
    case Milestone::PortOpen: return "port_open";
    case Milestone::LoadStarted: return "load_started";
    case Milestone::DeviceSelected: return "device_selected";
    case Milestone::ModelLoaded: return "model_loaded";
    case Milestone::Ready: return "ready";
    case Milestone::Failed: return "failed";
    case Milestone::Count: break;
  }
  return "unknown";
}

nlohmann::json to_json(const Timeline& t) {
  nlohmann::json milestones = nlohmann::json::object();
  for (int i = 0; i < static_cast<int>(Milestone::Count); ++i) {
    if (t.at_ms[i]) milestones[to_string(static_cast<Milestone>(i)) + "_ms"] = *t.at_ms[i];
  }
  // How long each phase took; a phase still running has no entry yet.
  nlohmann::json phases = nlohmann::json::object();
  const auto span = [&](const char* name, std::optional<double> from, std::optional<double> to) {
    if (from && to) phases[name] = *to - *from;
  };
  span("starting", 0.0, t.at(Milestone::LoadStarted));
  span("loading_model", t.at(Milestone::LoadStarted), t.at(Milestone::ModelLoaded));
  span("warming_up", t.at(Milestone::ModelLoaded), t.at(Milestone::Ready));
  return {{"since_process_start_ms", milestones}, {"phase_duration_ms", phases}};
}

void Readiness::mark(Milestone milestone) {
  auto& slot = milestone_ns_[static_cast<int>(milestone)];
  std::int64_t expected = 0;  // zero-initialised means unset; keep the first mark only
  const std::int64_t now = now_ns_since_start();
  slot.compare_exchange_strong(expected, now == 0 ? 1 : now, std::memory_order_acq_rel);
}

void Readiness::enter(Phase next) {
  const Phase current = phase();
  if (is_final(current) || next == Phase::Failed || static_cast<int>(next) <= static_cast<int>(current)) {
    return;
  }
  switch (next) {
    case Phase::LoadingModel: mark(Milestone::LoadStarted); break;
    case Phase::WarmingUp: mark(Milestone::ModelLoaded); break;
    case Phase::Ready: mark(Milestone::Ready); break;
    default: break;
  }
  publish(next);
}

void Readiness::fail(const std::string& reason, const std::string& public_reason) {
  if (failure_claimed_.exchange(true, std::memory_order_acq_rel) || phase() == Phase::Ready) return;
  failure_reason_ = reason.empty() ? "unknown failure" : reason;
  public_failure_reason_ = public_reason.empty() ? "start_up_failed" : public_reason;
  mark(Milestone::Failed);
  publish(Phase::Failed);
}

bool Readiness::fail_unproven(const std::string& reason) {
  if (proven() || phase() != Phase::Ready) return false;
  if (failure_claimed_.exchange(true, std::memory_order_acq_rel)) return false;
  failure_reason_ = "the model's first forward pass failed (no warm-up pass had run it): " + reason;
  public_failure_reason_ = "first_forward_failed";
  mark(Milestone::Failed);
  publish(Phase::Failed);
  return true;
}

void Readiness::publish(Phase next) {
  phase_started_ns_.store(now_ns_since_start(), std::memory_order_relaxed);
  {
    // Storing under the mutex means a waiter cannot miss the change between check and wait.
    std::lock_guard<std::mutex> lock(wait_mutex_);
    phase_.store(next, std::memory_order_release);
  }
  changed_.notify_all();
}

std::string Readiness::failure_reason() const {
  return phase() == Phase::Failed ? failure_reason_ : std::string();
}

std::string Readiness::public_failure_reason() const {
  return phase() == Phase::Failed ? public_failure_reason_ : std::string();
}

Phase Readiness::wait_until_settled(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(wait_mutex_);
  changed_.wait_for(lock, timeout, [&] { return is_final(phase_.load(std::memory_order_acquire)); });
  return phase_.load(std::memory_order_acquire);
}

Timeline Readiness::timeline() const {
  Timeline t;
  for (int i = 0; i < static_cast<int>(Milestone::Count); ++i) {
    const auto ns = milestone_ns_[i].load(std::memory_order_acquire);
    if (ns != 0 && ns != kUnset) t.at_ms[i] = static_cast<double>(ns) / 1e6;
  }
  return t;
}

double Readiness::ms_in_current_phase() const {
  return static_cast<double>(now_ns_since_start() - phase_started_ns_.load(std::memory_order_relaxed)) /
         1e6;
}

void Readiness::set_typical_durations(const PhaseDurations& typical_ms) {
  for (std::size_t i = 0; i < typical_ms.size(); ++i) {
    typical_ms_[i].store(typical_ms[i], std::memory_order_relaxed);
  }
}

PhaseDurations Readiness::typical_durations() const {
  PhaseDurations out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = typical_ms_[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace cutout::service
