#include "cutout/engine/cpu_threads.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace cutout::engine {
namespace {

// The count reaches threads started later (the HTTP workers run the tensor pipeline), not only
// the thread that set it: with OpenMP the count is per thread, and LibTorch applies its global
// one on a thread's first parallel call.
TEST(CpuThreads, ReachesThreadsStartedLater) {
  const int before = cpu_threads();
  set_cpu_threads(3);
  EXPECT_EQ(cpu_threads(), 3);
  int seen = 0;
  std::thread([&] { seen = cpu_threads(); }).join();
  EXPECT_EQ(seen, 3);
  set_cpu_threads(1);
  std::thread([&] { seen = cpu_threads(); }).join();
  EXPECT_EQ(seen, 1);
  set_cpu_threads(before);
}

}  // namespace
}  // namespace cutout::engine
