#pragma once
// How many CPUs this process may really use: the cgroup CPU quota (what a container runtime such
// as Cloud Run or Kubernetes sets from the CPU limit) and the affinity mask, never the host's core
// count alone. A 4-vCPU container on a 96-core host gets 4; a quota of 1.5 CPUs gets 2 (rounded up:
// the quota is time, and two threads at 75% use it fully).

#include <optional>
#include <string>
#include <string_view>

namespace cutout::core {

// cgroup v2 `cpu.max`: "QUOTA PERIOD" in microseconds, or "max PERIOD" for no limit. The quota in
// CPUs, rounded up (>= 1); nullopt for "max" or text that is not in that form.
std::optional<int> cpus_from_cgroup_v2(std::string_view cpu_max);

// cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` (microseconds; quota -1: no limit). As above.
std::optional<int> cpus_from_cgroup_v1(std::string_view quota_us, std::string_view period_us);

// Where the figures are read; the defaults are the real ones, tests point them at fake trees.
struct CpuSources {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string cgroup_root = "/sys/fs/cgroup";
  int affinity_cpus = 0;  // 0: ask sched_getaffinity (then std::thread::hardware_concurrency)
};

struct CpuBudget {
  int cpus = 1;        // >= 1
  std::string source;  // how it was found, for the start-up log, e.g. "cgroup v2 cpu.max 150000 100000"
};

// min(affinity CPUs, the tightest quota of the process's cgroup and its ancestors), v2 then v1.
// Unreadable or missing files count as no quota.
CpuBudget usable_cpus(const CpuSources& sources = {});

}  // namespace cutout::core
