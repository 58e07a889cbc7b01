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

// Holds the gate's turn until release(): the running request of the tests below.
class HeldTurn {
 public:
  explicit HeldTurn(InferenceGate& gate) {
    hold_.lock();
    thread_ = std::thread([&] { gate.run([&] { ++started_; std::lock_guard<std::mutex> l(hold_); }); });
    while (started_.load() == 0) std::this_thread::yield();
  }
  void release() {
    if (thread_.joinable()) {
      hold_.unlock();
      thread_.join();
    }
  }
  ~HeldTurn() { release(); }

 private:
  std::mutex hold_;
  std::atomic<int> started_{0};
  std::thread thread_;
};

TEST(InferenceGate, AWaitPastTheMaximumIsQueueTimeoutAndTheWorkNeverRuns) {
  InferenceGate gate(8, std::chrono::milliseconds(50));
  HeldTurn running(gate);
  bool ran = false;
  const auto before = std::chrono::steady_clock::now();
  try {
    gate.run([&] { ran = true; });
    ADD_FAILURE() << "admitted while the turn was held";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Overloaded);
    EXPECT_EQ(e.type(), "queue_timeout");
  }
  const auto waited = std::chrono::steady_clock::now() - before;
  EXPECT_GE(waited, std::chrono::milliseconds(50));
  EXPECT_FALSE(ran);
  EXPECT_EQ(gate.timed_out(), 1u);
  EXPECT_EQ(gate.inside(), 1u);  // only the running one: the timed-out request left the queue
  running.release();
  EXPECT_EQ(gate.inside(), 0u);
  EXPECT_NO_THROW(gate.run([] {}));  // the skipped ticket does not stall the queue
}

TEST(InferenceGate, ATimedOutTicketIsSkippedAndTheOthersKeepTheirOrder) {
  InferenceGate gate(8, std::chrono::milliseconds(1000));
  HeldTurn running(gate);
  std::vector<int> order;
  std::mutex order_mutex;
  // First in line: gives up after 1 s. Then, 300 ms later (so their own deadlines are that much
  // later), two more that must be served in their order once the turn passes on.
  std::thread early([&] { EXPECT_THROW(gate.run([&] { order.push_back(-1); }), Error); });
  while (gate.inside() < 2) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::thread> later;
  for (int i = 0; i < 2; ++i) {
    later.emplace_back([&, i] {
      gate.run([&, i] {
        std::lock_guard<std::mutex> l(order_mutex);
        order.push_back(i);
      });
    });
    while (gate.inside() < static_cast<std::size_t>(i + 3)) std::this_thread::yield();
  }
  early.join();  // timed out (the turn is still held)
  EXPECT_EQ(gate.inside(), 3u);
  running.release();
  for (auto& t : later) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(gate.inside(), 0u);
  EXPECT_EQ(gate.timed_out(), 1u);
}

TEST(InferenceGate, ATimedOutRequestFreesItsPlaceForQueueFull) {
  InferenceGate gate(2, std::chrono::milliseconds(30));
  HeldTurn running(gate);
  EXPECT_THROW(gate.run([] {}), Error);  // waits 30 ms, times out
  // Its place is free again: one more may wait (and times out too), rather than queue_full.
  try {
    gate.run([] {});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "queue_timeout");
  }
  EXPECT_EQ(gate.rejected(), 0u);
  EXPECT_EQ(gate.timed_out(), 2u);
}

TEST(InferenceGate, ZeroMaximumWaitMeansNoLimit) {
  InferenceGate gate(4);
  EXPECT_EQ(gate.max_wait(), std::chrono::milliseconds::zero());
  std::mutex hold;
  hold.lock();
  std::atomic<int> started{0};
  std::thread first([&] { gate.run([&] { ++started; std::lock_guard<std::mutex> l(hold); }); });
  while (started.load() == 0) std::this_thread::yield();
  std::atomic<bool> done{false};
  std::thread second([&] { gate.run([] {}); done = true; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done.load());  // still waiting, not refused
  hold.unlock();
  first.join();
  second.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(gate.timed_out(), 0u);
}

}  // namespace
}  // namespace cutout::engine
