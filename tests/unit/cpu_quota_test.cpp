#include "cutout/core/cpu_quota.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace cutout::core {
namespace {

namespace fs = std::filesystem;

TEST(CgroupV2CpuMax, QuotaInCpusRoundedUp) {
  EXPECT_EQ(cpus_from_cgroup_v2("200000 100000\n"), 2);
  EXPECT_EQ(cpus_from_cgroup_v2("150000 100000"), 2);
  EXPECT_EQ(cpus_from_cgroup_v2("50000 100000"), 1);
  EXPECT_EQ(cpus_from_cgroup_v2("400000 100000"), 4);
  EXPECT_EQ(cpus_from_cgroup_v2("100001 100000"), 2);
  EXPECT_EQ(cpus_from_cgroup_v2("8000 1000"), 8);
}

TEST(CgroupV2CpuMax, NoLimitOrNonsenseIsNone) {
  EXPECT_EQ(cpus_from_cgroup_v2("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("max"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2(""), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("200000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("0 100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("200000 0"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("-5 100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("2e5 100000"), std::nullopt);
}

TEST(CgroupV1Quota, QuotaInCpusRoundedUp) {
  EXPECT_EQ(cpus_from_cgroup_v1("300000\n", "100000\n"), 3);
  EXPECT_EQ(cpus_from_cgroup_v1("250000", "100000"), 3);
  EXPECT_EQ(cpus_from_cgroup_v1("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v1("", "100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v1("100000", "junk"), std::nullopt);
}

// A fake /proc/self/cgroup and /sys/fs/cgroup under a temporary directory.
class FakeCgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cutout_cgroups_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "sys");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& relative, const std::string& text) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  CpuBudget budget(int affinity) {
    return usable_cpus(CpuSources{(root_ / "proc_self_cgroup").string(), (root_ / "sys").string(), affinity});
  }

  fs::path root_;
};

TEST_F(FakeCgroups, V2QuotaOfTheProcessCgroup) {
  write("proc_self_cgroup", "0::/kubepods/pod1/ctr\n");
  write("sys/kubepods/pod1/ctr/cpu.max", "400000 100000\n");
  const CpuBudget b = budget(96);
  EXPECT_EQ(b.cpus, 4);
  EXPECT_NE(b.source.find("cgroup v2"), std::string::npos) << b.source;
  EXPECT_NE(b.source.find("400000 100000"), std::string::npos) << b.source;
}

TEST_F(FakeCgroups, V2TightestAncestorWins) {
  write("proc_self_cgroup", "0::/a/b\n");
  write("sys/a/b/cpu.max", "max 100000\n");
  write("sys/a/cpu.max", "250000 100000\n");
  write("sys/cpu.max", "800000 100000\n");
  EXPECT_EQ(budget(64).cpus, 3);
}

TEST_F(FakeCgroups, V2NamespacedContainerReadsTheMountRoot) {
  // The process's path is the host's; the container sees its own cgroup at the mount.
  write("proc_self_cgroup", "0::/system.slice/docker-abc.scope\n");
  write("sys/cpu.max", "200000 100000\n");
  EXPECT_EQ(budget(16).cpus, 2);
}

TEST_F(FakeCgroups, V2WithoutLimitUsesAffinity) {
  write("proc_self_cgroup", "0::/\n");
  write("sys/cpu.max", "max 100000\n");
  const CpuBudget b = budget(6);
  EXPECT_EQ(b.cpus, 6);
  EXPECT_NE(b.source.find("sched_getaffinity"), std::string::npos) << b.source;
}

TEST_F(FakeCgroups, AffinityBelowTheQuotaWins) {
  write("proc_self_cgroup", "0::/\n");
  write("sys/cpu.max", "800000 100000\n");
  EXPECT_EQ(budget(3).cpus, 3);
}

TEST_F(FakeCgroups, V1CpuController) {
  write("proc_self_cgroup", "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n0::/\n");
  write("sys/cpu,cpuacct/docker/x/cpu.cfs_quota_us", "150000\n");
  write("sys/cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
  const CpuBudget b = budget(32);
  EXPECT_EQ(b.cpus, 2);
  EXPECT_NE(b.source.find("cgroup v1"), std::string::npos) << b.source;
}

TEST_F(FakeCgroups, V1UnlimitedAndMissingFilesUseAffinity) {
  write("proc_self_cgroup", "3:cpu:/\n");
  write("sys/cpu/cpu.cfs_quota_us", "-1\n");
  write("sys/cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(budget(5).cpus, 5);
  fs::remove_all(root_ / "sys" / "cpu");
  EXPECT_EQ(budget(5).cpus, 5);
  fs::remove(root_ / "proc_self_cgroup");
  EXPECT_EQ(budget(5).cpus, 5);
}

TEST(UsableCpus, ThisMachineHasAtLeastOne) {
  const CpuBudget b = usable_cpus();
  EXPECT_GE(b.cpus, 1);
  EXPECT_FALSE(b.source.empty());
}

}  // namespace
}  // namespace cutout::core
