#include "cutout/service/memory_limit.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace cutout::service {
namespace {

// cgroup v1 writes "unlimited" as a page-rounded 2^63 - 1; anything this large is no limit.
constexpr std::uint64_t kUnlimitedFloor = std::uint64_t{1} << 60;

std::optional<std::uint64_t> read_limit_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  std::uint64_t value = 0;
  std::istringstream parse(text);
  if (!(parse >> value) || value >= kUnlimitedFloor) return std::nullopt;
  return value;
}

// The smallest limit on `path` and every ancestor up to `base` (a parent's limit binds the child).
std::optional<std::uint64_t> tightest(const std::string& base, std::string path, const char* file) {
  std::optional<std::uint64_t> best;
  while (true) {
    if (const auto limit = read_limit_file(base + path + (path == "/" ? "" : "/") + file)) {
      best = best ? std::min(*best, *limit) : *limit;
    }
    if (path.empty() || path == "/") break;
    const auto slash = path.find_last_of('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return best;
}

}  // namespace

std::optional<std::uint64_t> cgroup_memory_limit(const std::string& cgroup_root,
                                                 const std::string& proc_self_cgroup) {
  // Lines "hierarchy-ID:controllers:path": v2 is "0::/path", v1's memory controller
  // "N:memory:/path" (possibly "N:memory,other:/path").
  std::ifstream in(proc_self_cgroup);
  std::string line, v2_path, v1_path;
  bool v2 = false, v1 = false;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      v2 = true;
      v2_path = path;
    }
    std::istringstream list(controllers);
    std::string controller;
    while (std::getline(list, controller, ',')) {
      if (controller == "memory") {
        v1 = true;
        v1_path = path;
      }
    }
  }
  std::optional<std::uint64_t> limit;
  if (v1) limit = tightest(cgroup_root + "/memory", v1_path, "memory.limit_in_bytes");
  if (!limit && v2) limit = tightest(cgroup_root, v2_path, "memory.max");
  // A cgroup namespace shows the container's own cgroup as the root: its path is "/" and the file
  // sits at the mount point, which tightest() reads last.
  return limit;
}

std::uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : 0;
}

std::uint64_t process_peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      std::uint64_t kib = 0;
      if (fields >> kib) return kib * 1024;
    }
  }
  return 0;
}

std::uint64_t budget_from_limit(std::uint64_t limit_bytes, std::uint64_t held_bytes) {
  if (limit_bytes <= held_bytes) return 0;
  return (limit_bytes - held_bytes) / 10 * 9;
}

}  // namespace cutout::service
