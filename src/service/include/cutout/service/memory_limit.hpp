#pragma once
// Where the memory budget's size comes from: the container's memory limit (cgroup v2 memory.max,
// cgroup v1 memory.limit_in_bytes), else the machine's physical memory, minus what the process
// already holds once the model is loaded and warmed up.

#include <cstdint>
#include <optional>
#include <string>

namespace cutout::service {

// The tightest memory limit on this process's cgroup and its ancestors, in bytes; nullopt when
// none is set ("max", or v1's near-2^63 "unlimited") or no cgroup file can be read. `cgroup_root`
// is where the hierarchy is mounted, `proc_self_cgroup` the process's membership file (both
// parameters for the tests).
std::optional<std::uint64_t> cgroup_memory_limit(const std::string& cgroup_root = "/sys/fs/cgroup",
                                                 const std::string& proc_self_cgroup = "/proc/self/cgroup");

// Total physical memory (sysconf), in bytes.
std::uint64_t physical_memory_bytes();

// VmHWM of /proc/self/status: the most this process has held resident so far, in bytes (0 when
// unreadable). After the warm-up this is the model plus one forward pass's working memory.
std::uint64_t process_peak_resident_bytes();

// What requests may hold together: (limit - held) x 0.9, the tenth left for the allocator's
// fragmentation and what no estimate counts (threads' stacks, connections' buffers); 0 when the
// process already holds the whole limit.
std::uint64_t budget_from_limit(std::uint64_t limit_bytes, std::uint64_t held_bytes);

}  // namespace cutout::service
