#pragma once
// What a progress display needs while the service starts: the phase, its place among the phases,
// the time spent, and an estimate of the time left from each phase's typical duration.
//
// The estimate: remaining = max(typical(current) - elapsed in current, 0) + sum of typical(later).
// When the current phase has run past its typical duration the estimate says so ("overdue")
// instead of inventing a new figure. Typical durations come from typical_phase_durations(): a
// fixed start-up cost plus a cost per MiB of model file, per device class (figures and their
// sources in docs/frontend.md). They are rough by design: a hint for people, never a promise.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "cutout/service/readiness.hpp"

namespace cutout::service {

// starting, loading_model, warming_up, ready.
constexpr int kStartupPhaseCount = 4;

PhaseDurations typical_phase_durations(bool on_gpu, std::uintmax_t model_file_bytes, int warmup_runs);

struct StartupProgress {
  Phase phase = Phase::Starting;
  int phase_index = 1;  // 1-based among kStartupPhaseCount; ready is the last
  double elapsed_ms = 0;        // since process start
  double phase_elapsed_ms = 0;  // since the current phase began
  double estimated_remaining_ms = 0;  // 0 once ready
  bool phase_overdue = false;   // the current phase has run past its typical duration
  PhaseDurations typical_ms{};
};

// The arithmetic alone (no clock): for Starting, LoadingModel, WarmingUp and Ready; not for Failed.
StartupProgress estimate_progress(Phase phase, double elapsed_ms, double phase_elapsed_ms,
                                  const PhaseDurations& typical_ms);

// The same now, for the phase the caller has read (so one answer never mixes two phases).
StartupProgress current_progress(const Readiness& readiness, Phase phase);

// {"phase","phase_index","phase_count","elapsed_ms","phase_elapsed_ms","estimated_remaining_ms",
//  "phase_overdue","phases":[{"name","typical_ms"},...,{"name":"ready"}]}; estimates in whole ms.
nlohmann::json to_json(const StartupProgress& progress);

}  // namespace cutout::service
