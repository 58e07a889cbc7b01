#include "cutout/engine/inference_gate.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cutout/core/error.hpp"

namespace cutout::engine {
namespace {

TEST(InferenceGate, RunsOneAtATime) {
  InferenceGate gate(16);
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      gate.run([&] {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {}
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --inside;
      });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(most.load(), 1);
  EXPECT_EQ(gate.inside(), 0u);
}

TEST(InferenceGate, RefusesBeyondCapacityAndRecoversAfterwards) {
  InferenceGate gate(2);
  std::mutex hold;
  hold.lock();
  std::atomic<int> started{0};
  std::thread first([&] { gate.run([&] { ++started; std::lock_guard<std::mutex> l(hold); }); });
  while (started.load() == 0) std::this_thread::yield();
  std::thread second([&] { gate.run([] {}); });
  while (gate.inside() < 2) std::this_thread::yield();
  try {
    gate.run([] {});
    ADD_FAILURE() << "a third request was admitted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Overloaded);
    EXPECT_EQ(e.type(), "queue_full");
  }
  hold.unlock();
  first.join();
  second.join();
  EXPECT_NO_THROW(gate.run([] {}));
}

TEST(InferenceGate, ServesInArrivalOrder) {
  InferenceGate gate(16);
  std::mutex hold;
  hold.lock();
  std::atomic<int> started{0};
  std::vector<int> order;
  std::thread first([&] { gate.run([&] { ++started; std::lock_guard<std::mutex> l(hold); }); });
  while (started.load() == 0) std::this_thread::yield();
  std::vector<std::thread> waiting;
  for (int i = 0; i < 5; ++i) {
    waiting.emplace_back([&, i] { gate.run([&, i] { order.push_back(i); }); });
    while (gate.inside() < static_cast<std::size_t>(i + 2)) std::this_thread::yield();
  }
  hold.unlock();
  first.join();
  for (auto& t : waiting) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(InferenceGate, AnExceptionPassesTheTurnOn) {
  InferenceGate gate(1);
  EXPECT_THROW(gate.run([] { throw std::runtime_error("forward failed"); }), std::runtime_error);
  EXPECT_EQ(gate.inside(), 0u);
  EXPECT_NO_THROW(gate.run([] {}));
}

TEST(InferenceGate, ReportsQueueAndRunTimes) {
  InferenceGate gate(1);
  const auto t = gate.run([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); });
  EXPECT_GE(t.run_ms, 19.0);
  EXPECT_GE(t.queue_ms, 0.0);
}

}  // namespace
}  // namespace cutout::engine
