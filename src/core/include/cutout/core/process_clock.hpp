#pragma once
// Start-up is measured from the moment the kernel created the process, not from main(): dynamic
// linking of LibTorch and static initialisers happen before main and are part of a cold start.

#include <chrono>

namespace cutout {

using SteadyTime = std::chrono::steady_clock::time_point;

// The process's creation time on the steady clock, from /proc/self/stat (10 ms resolution).
// Falls back to the first call's time where /proc is unavailable.
SteadyTime process_start_time();

// Milliseconds from process creation to `t`.
double ms_since_process_start(SteadyTime t);

}  // namespace cutout
