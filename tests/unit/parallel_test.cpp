#include "cutout/core/parallel.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cutout::core {
namespace {

// Every item is visited exactly once, whatever the grain and the range.
TEST(ParallelFor, VisitsEachItemOnce) {
  for (const std::int64_t grain : {1, 3, 64, 1000}) {
    std::vector<std::atomic<int>> seen(1001);
    parallel_for(0, 1001, grain, [&](std::int64_t b, std::int64_t e) {
      ASSERT_LE(b, e);
      for (std::int64_t i = b; i < e; ++i) seen[static_cast<std::size_t>(i)]++;
    });
    for (const auto& count : seen) ASSERT_EQ(count.load(), 1) << "grain " << grain;
  }
}

TEST(ParallelFor, EmptyAndOffsetRanges) {
  int calls = 0;
  parallel_for(5, 5, 1, [&](std::int64_t, std::int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  std::atomic<std::int64_t> sum{0};
  parallel_for(10, 20, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 145);
}

TEST(ParallelFor, RethrowsAChunksException) {
  EXPECT_THROW(parallel_for(0, 100, 1,
                            [](std::int64_t b, std::int64_t) {
                              if (b == 0) throw std::runtime_error("chunk failed");
                            }),
               std::runtime_error);
}

// Loops from several threads at once, each with a nested loop, all finish with the right sums.
TEST(ParallelFor, ConcurrentAndNestedLoopsFinish) {
  set_parallel_threads(3);
  EXPECT_EQ(parallel_threads(), 3);
  std::vector<std::thread> callers;
  std::atomic<std::int64_t> total{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      parallel_for(0, 50, 1, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
          parallel_for(0, 10, 1, [&](std::int64_t ib, std::int64_t ie) { total += ie - ib; });
        }
      });
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(total.load(), 4 * 50 * 10);
  set_parallel_threads(1);
  EXPECT_EQ(parallel_threads(), 1);
  std::int64_t inline_sum = 0;  // one thread: no data race on a plain int
  parallel_for(0, 100, 1, [&](std::int64_t b, std::int64_t e) { inline_sum += e - b; });
  EXPECT_EQ(inline_sum, 100);
}

}  // namespace
}  // namespace cutout::core
