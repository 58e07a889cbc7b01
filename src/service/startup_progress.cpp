#include "cutout/service/startup_progress.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "cutout/core/process_clock.hpp"

namespace cutout::service {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// Fixed cost plus cost per MiB of model file. CPU: measured on the 2-core CI-class machine with the
// fixture models and the 84 MiB default model (docs/frontend.md). GPU: not measured here (no GPU
// in this project's machines); CUDA context creation and the first kernels dominate, so the fixed
// parts are large. Replace with an L4's figures from the "ready" log line's timeline when known.
struct Cost {
  double fixed_ms;
  double per_mib_ms;
  double at(double mib) const { return fixed_ms + per_mib_ms * mib; }
};
constexpr double kStartingMs = 1000;  // process creation to the loader's start (linking LibTorch)
constexpr Cost kCpuLoad{50, 6}, kCpuWarmupRun{50, 100};
constexpr Cost kGpuLoad{2500, 10}, kGpuWarmupRun{1000, 5};

}  // namespace

PhaseDurations typical_phase_durations(bool on_gpu, std::uintmax_t model_file_bytes, int warmup_runs) {
  const double mib = static_cast<double>(model_file_bytes) / kMiB;
  const Cost& load = on_gpu ? kGpuLoad : kCpuLoad;
  const Cost& run = on_gpu ? kGpuWarmupRun : kCpuWarmupRun;
  return {kStartingMs, load.at(mib), std::max(warmup_runs, 0) * run.at(mib)};
}

StartupProgress estimate_progress(Phase phase, double elapsed_ms, double phase_elapsed_ms,
                                  const PhaseDurations& typical_ms) {
  StartupProgress p;
  p.phase = phase;
  p.phase_index = static_cast<int>(phase) + 1;
  p.elapsed_ms = elapsed_ms;
  p.phase_elapsed_ms = phase_elapsed_ms;
  p.typical_ms = typical_ms;
  const int current = static_cast<int>(phase);
  if (current >= static_cast<int>(Phase::Ready)) {
    p.phase_index = std::min(p.phase_index, kStartupPhaseCount);
    return p;  // nothing left (Failed is not a start-up phase; callers answer it apart)
  }
  const double left_in_current = typical_ms[current] - phase_elapsed_ms;
  p.phase_overdue = left_in_current < 0;
  double remaining = std::max(left_in_current, 0.0);
  for (int later = current + 1; later < static_cast<int>(typical_ms.size()); ++later) {
    remaining += typical_ms[later];
  }
  p.estimated_remaining_ms = remaining;
  return p;
}

StartupProgress current_progress(const Readiness& readiness, Phase phase) {
  return estimate_progress(phase, ms_since_process_start(std::chrono::steady_clock::now()),
                           readiness.ms_in_current_phase(), readiness.typical_durations());
}

nlohmann::json to_json(const StartupProgress& p) {
  const auto whole = [](double ms) { return std::llround(std::max(ms, 0.0)); };
  nlohmann::json phases = nlohmann::json::array();
  for (int i = 0; i < static_cast<int>(p.typical_ms.size()); ++i) {
    phases.push_back({{"name", to_string(static_cast<Phase>(i))}, {"typical_ms", whole(p.typical_ms[i])}});
  }
  phases.push_back({{"name", to_string(Phase::Ready)}});
  return {{"phase", to_string(p.phase)},
          {"phase_index", p.phase_index},
          {"phase_count", kStartupPhaseCount},
          {"elapsed_ms", p.elapsed_ms},
          {"phase_elapsed_ms", p.phase_elapsed_ms},
          {"estimated_remaining_ms", whole(p.estimated_remaining_ms)},
          {"phase_overdue", p.phase_overdue},
          {"phases", phases}};
}

}  // namespace cutout::service
