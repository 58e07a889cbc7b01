// Why one count for both: the CPU stages of concurrent requests share the pool's workers (N - 1
// plus each request's own thread), and forward passes run one at a time through the inference gate
// with N intra-op threads; with N = the CPU quota, neither grows with the number of requests.

#include "cpu_threads.hpp"

#include <string>

#include "cutout/core/cpu_quota.hpp"
#include "cutout/core/parallel.hpp"
#include "cutout/engine/cpu_threads.hpp"
#include "cutout/logging/logging.hpp"

namespace cutout::app {

int configure_cpu_threads(int setting) {
  core::CpuBudget budget;
  if (setting > 0) {
    budget = core::CpuBudget{setting, "--cpu-threads (or CUTOUT_CPU_THREADS)"};
  } else {
    budget = core::usable_cpus();
  }
  core::set_parallel_threads(budget.cpus);
  engine::set_cpu_threads(budget.cpus);
  log_event(spdlog::level::info, "cpu threads",
            {{"threads", budget.cpus}, {"source", budget.source}});
  return budget.cpus;
}

}  // namespace cutout::app
