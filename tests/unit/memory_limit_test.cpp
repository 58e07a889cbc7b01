#include "cutout/service/memory_limit.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace cutout::service {
namespace {

namespace fs = std::filesystem;

// A fake cgroup mount and /proc/self/cgroup in a temporary directory.
class CgroupTree : public ::testing::Test {
 protected:
  CgroupTree() : root_(fs::temp_directory_path() / ("cutout-cgroup-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(root_);
    fs::create_directories(root_ / "mnt");
  }
  ~CgroupTree() override { fs::remove_all(root_); }

  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  std::optional<std::uint64_t> limit() {
    return cgroup_memory_limit((root_ / "mnt").string(), (root_ / "self_cgroup").string());
  }

  fs::path root_;
};

TEST_F(CgroupTree, V2ReadsMemoryMaxOfTheProcessCgroup) {
  write("self_cgroup", "0::/kubepods/pod1/c1\n");
  write("mnt/kubepods/pod1/c1/memory.max", "2147483648\n");
  EXPECT_EQ(limit(), std::uint64_t{2147483648});
}

TEST_F(CgroupTree, V2TakesTheTightestAncestorAndIgnoresMax) {
  write("self_cgroup", "0::/a/b\n");
  write("mnt/a/b/memory.max", "max\n");
  write("mnt/a/memory.max", "1073741824\n");
  EXPECT_EQ(limit(), std::uint64_t{1073741824});
  write("mnt/a/b/memory.max", "536870912\n");
  EXPECT_EQ(limit(), std::uint64_t{536870912});
}

TEST_F(CgroupTree, V2InANamespaceReadsTheMountPoint) {
  // With a cgroup namespace (Docker's default on v2) the container's cgroup is "/".
  write("self_cgroup", "0::/\n");
  write("mnt/memory.max", "4294967296\n");
  EXPECT_EQ(limit(), std::uint64_t{4294967296});
}

TEST_F(CgroupTree, V1ReadsLimitInBytesAndTreatsHugeAsUnlimited) {
  write("self_cgroup", "5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n");
  write("mnt/memory/memory.limit_in_bytes", "9223372036854771712\n");  // v1's "unlimited"
  EXPECT_EQ(limit(), std::nullopt);
  // Without a namespace the process's path is not under the mount: the mount's root file is the
  // container's own limit.
  write("mnt/memory/memory.limit_in_bytes", "3221225472\n");
  EXPECT_EQ(limit(), std::uint64_t{3221225472});
}

TEST_F(CgroupTree, NoLimitAnywhereIsNullopt) {
  write("self_cgroup", "0::/user.slice\n");
  EXPECT_EQ(limit(), std::nullopt);
  EXPECT_EQ(cgroup_memory_limit((root_ / "none").string(), (root_ / "none").string()), std::nullopt);
}

TEST(MemoryLimit, BudgetIsNineTenthsOfWhatTheProcessDoesNotHold) {
  EXPECT_EQ(budget_from_limit(2000, 1000), 900u);
  EXPECT_EQ(budget_from_limit(1000, 1000), 0u);
  EXPECT_EQ(budget_from_limit(500, 1000), 0u);
}

TEST(MemoryLimit, ProcessFiguresAreReadable) {
  EXPECT_GT(physical_memory_bytes(), 0u);
  EXPECT_GT(process_peak_resident_bytes(), 0u);
}

}  // namespace
}  // namespace cutout::service
