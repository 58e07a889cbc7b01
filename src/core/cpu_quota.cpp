#include "cutout/core/cpu_quota.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace cutout::core {
namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::optional<std::int64_t> to_int(std::string_view text) {
  text = trim(text);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<int> ceil_cpus(std::int64_t quota, std::int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  const std::int64_t cpus = (quota + period - 1) / period;
  return static_cast<int>(std::clamp<std::int64_t>(cpus, 1, 1 << 16));
}

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The cgroup path of the process for a v2 line ("0::/path") or the v1 line whose controller list
// holds "cpu" ("4:cpu,cpuacct:/path").
std::optional<std::string> cgroup_path(const std::string& proc_self_cgroup, bool v2) {
  const auto text = read_text(proc_self_cgroup);
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (v2) {
      if (line.compare(0, first, "0") == 0 && controllers.empty()) return path;
      continue;
    }
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name == "cpu") return path;
    }
  }
  return std::nullopt;
}

// `mount`/`path` and each ancestor up to `mount` itself (a limit on a parent binds its children).
// When the process's path is not under the mount (a container that sees only its own cgroup as
// the root), the mount alone.
std::vector<fs::path> cgroup_dirs(const fs::path& mount, const std::string& path) {
  std::vector<fs::path> dirs;
  fs::path relative = fs::path(path).relative_path();
  std::error_code error;
  if (!relative.empty() && fs::is_directory(mount / relative, error)) {
    for (; !relative.empty() && relative != relative.parent_path(); relative = relative.parent_path()) {
      dirs.push_back(mount / relative);
    }
  }
  dirs.push_back(mount);
  return dirs;
}

struct Quota {
  int cpus;
  std::string source;
};

void keep_tighter(std::optional<Quota>& best, std::optional<int> cpus, std::string source) {
  if (cpus && (!best || *cpus < best->cpus)) best = Quota{*cpus, std::move(source)};
}

std::optional<Quota> v2_quota(const CpuSources& sources) {
  const auto path = cgroup_path(sources.proc_self_cgroup, true);
  if (!path) return std::nullopt;
  std::optional<Quota> best;
  for (const fs::path& dir : cgroup_dirs(sources.cgroup_root, *path)) {
    const auto text = read_text(dir / "cpu.max");
    if (!text) continue;
    keep_tighter(best, cpus_from_cgroup_v2(*text),
                 "cgroup v2 " + (dir / "cpu.max").string() + " " + std::string(trim(*text)));
  }
  return best;
}

std::optional<Quota> v1_quota(const CpuSources& sources) {
  const auto path = cgroup_path(sources.proc_self_cgroup, false);
  if (!path) return std::nullopt;
  std::optional<Quota> best;
  for (const char* mount : {"cpu,cpuacct", "cpuacct,cpu", "cpu"}) {
    const fs::path root = fs::path(sources.cgroup_root) / mount;
    std::error_code error;
    if (!fs::is_directory(root, error)) continue;
    for (const fs::path& dir : cgroup_dirs(root, *path)) {
      const auto quota = read_text(dir / "cpu.cfs_quota_us");
      const auto period = read_text(dir / "cpu.cfs_period_us");
      if (!quota || !period) continue;
      keep_tighter(best, cpus_from_cgroup_v1(*quota, *period),
                   "cgroup v1 " + dir.string() + " cpu.cfs_quota_us " + std::string(trim(*quota)) +
                       " cpu.cfs_period_us " + std::string(trim(*period)));
    }
    break;  // one mount of the cpu controller; the others are links to it
  }
  return best;
}

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

std::optional<int> cpus_from_cgroup_v2(std::string_view cpu_max) {
  cpu_max = trim(cpu_max);
  const auto space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = to_int(cpu_max.substr(0, space));  // "max" is no number: no limit
  const auto period = to_int(cpu_max.substr(space + 1));
  if (!quota || !period) return std::nullopt;
  return ceil_cpus(*quota, *period);
}

std::optional<int> cpus_from_cgroup_v1(std::string_view quota_us, std::string_view period_us) {
  const auto quota = to_int(quota_us);
  const auto period = to_int(period_us);
  if (!quota || !period) return std::nullopt;
  return ceil_cpus(*quota, *period);  // -1 (no limit) gives nullopt
}

CpuBudget usable_cpus(const CpuSources& sources) {
  const int affinity = sources.affinity_cpus > 0 ? sources.affinity_cpus : affinity_cpus();
  CpuBudget budget{affinity, "sched_getaffinity (" + std::to_string(affinity) + " CPUs)"};
  std::optional<Quota> quota = v2_quota(sources);
  if (!quota) quota = v1_quota(sources);
  if (quota && quota->cpus < affinity) budget = CpuBudget{quota->cpus, quota->source};
  return budget;
}

}  // namespace cutout::core
