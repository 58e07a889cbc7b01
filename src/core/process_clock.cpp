#include "cutout/core/process_clock.hpp"

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

namespace cutout {
namespace {

// Seconds since boot at which this process started: field 22 of /proc/self/stat, in clock ticks.
bool read_start_since_boot(double& seconds) {
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  // The command name (field 2) may contain spaces; fields after it start past the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int index = 3; index <= 22; ++index) {
    if (!(rest >> field)) return false;
  }
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return false;
  seconds = std::stod(field) / static_cast<double>(ticks_per_second);
  return true;
}

SteadyTime compute_process_start() {
  const auto now = std::chrono::steady_clock::now();
  double started_since_boot = 0;
  timespec boottime{};
  // CLOCK_BOOTTIME is the clock /proc/self/stat's start time is measured on.
  if (!read_start_since_boot(started_since_boot) || clock_gettime(CLOCK_BOOTTIME, &boottime) != 0) {
    return now;
  }
  const double now_since_boot = static_cast<double>(boottime.tv_sec) + boottime.tv_nsec * 1e-9;
  const double age = now_since_boot - started_since_boot;
  if (age < 0) return now;
  return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(age));
}

}  // namespace

SteadyTime process_start_time() {
  static const SteadyTime start = compute_process_start();
  return start;
}

double ms_since_process_start(SteadyTime t) {
  return std::chrono::duration<double, std::milli>(t - process_start_time()).count();
}

}  // namespace cutout
