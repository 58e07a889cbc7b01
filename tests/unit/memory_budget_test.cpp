#include "cutout/service/memory_budget.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cutout/core/error.hpp"

namespace cutout::service {
namespace {

MemoryBudget fixed(std::uint64_t bytes) {
  return MemoryBudget([bytes] { return bytes; });
}

void expect_error(const std::function<void()>& f, ErrorKind kind, const std::string& type) {
  try {
    f();
    ADD_FAILURE() << "no error, expected " << type;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind);
    EXPECT_EQ(e.type(), type) << e.what();
  }
}

TEST(MemoryBudget, AdmitsWhatFitsAndRefusesTheRestAsBusy) {
  MemoryBudget budget = fixed(1000);
  auto a = budget.admit(600);
  EXPECT_EQ(budget.stats().in_use_bytes, 600u);
  auto b = budget.admit(400);  // exactly full is still admitted
  EXPECT_EQ(budget.stats().in_use_bytes, 1000u);
  expect_error([&] { budget.admit(1); }, ErrorKind::Overloaded, "busy");
  EXPECT_EQ(budget.stats().refused, 1u);
  EXPECT_EQ(budget.stats().capacity_bytes, 1000u);
}

TEST(MemoryBudget, AReservationGivesItsBytesBackWhenItEnds) {
  MemoryBudget budget = fixed(1000);
  {
    auto a = budget.admit(900);
    expect_error([&] { budget.admit(200); }, ErrorKind::Overloaded, "busy");
    MemoryBudget::Reservation moved = std::move(a);  // moving does not release twice
    EXPECT_EQ(moved.bytes(), 900u);
    EXPECT_EQ(budget.stats().in_use_bytes, 900u);
  }
  EXPECT_EQ(budget.stats().in_use_bytes, 0u);
  EXPECT_NO_THROW(budget.admit(1000));
  EXPECT_EQ(budget.stats().in_use_bytes, 0u);  // the temporary ended at once
}

TEST(MemoryBudget, MoreThanTheWholeBudgetIsTooLargeNotBusy) {
  MemoryBudget budget = fixed(1000);
  expect_error([&] { budget.admit(1001); }, ErrorKind::PayloadTooLarge, "image_too_large");
  EXPECT_EQ(budget.stats().refused, 0u);  // not a busy answer: no retry could succeed
  EXPECT_EQ(budget.stats().in_use_bytes, 0u);
}

TEST(MemoryBudget, ItsSizeIsAskedOnceAtTheFirstRequest) {
  int asked = 0;
  MemoryBudget budget([&] { ++asked; return std::uint64_t{500}; });
  EXPECT_EQ(asked, 0);  // not at construction: the model is not loaded yet then
  EXPECT_EQ(budget.stats().capacity_bytes, 0u);
  budget.admit(100);
  budget.admit(100);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(budget.stats().capacity_bytes, 500u);
}

TEST(MemoryBudget, NoSourceMeansUnlimited) {
  MemoryBudget budget(nullptr);
  auto a = budget.admit(std::uint64_t{1} << 50);
  EXPECT_EQ(budget.stats().capacity_bytes, 0u);  // reported as 0: no budget
}

TEST(MemoryBudget, ConcurrentAdmissionsNeverExceedIt) {
  MemoryBudget budget = fixed(10'000);
  std::atomic<std::uint64_t> most{0};
  std::atomic<int> busy{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        try {
          auto r = budget.admit(3000);
          const std::uint64_t now = budget.stats().in_use_bytes;
          std::uint64_t seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {}
        } catch (const Error&) {
          ++busy;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 9000u);  // three of 3000 fit in 10,000, never four
  EXPECT_EQ(budget.stats().in_use_bytes, 0u);
  EXPECT_EQ(budget.stats().refused, static_cast<std::uint64_t>(busy.load()));
}

}  // namespace
}  // namespace cutout::service
