#include "cutout/service/readiness.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cutout::service {
namespace {

TEST(Readiness, StartsInStartingWithNoMilestones) {
  Readiness r;
  EXPECT_EQ(r.phase(), Phase::Starting);
  EXPECT_FALSE(r.ready());
  EXPECT_FALSE(r.timeline().at(Milestone::Ready));
  EXPECT_EQ(r.failure_reason(), "");
}

TEST(Readiness, MovesForwardAndRecordsMilestonesInOrder) {
  Readiness r;
  r.mark(Milestone::PortOpen);
  r.enter(Phase::LoadingModel);
  r.mark(Milestone::DeviceSelected);
  r.enter(Phase::WarmingUp);
  r.enter(Phase::Ready);
  EXPECT_TRUE(r.ready());
  const Timeline t = r.timeline();
  for (auto m : {Milestone::PortOpen, Milestone::LoadStarted, Milestone::DeviceSelected,
                 Milestone::ModelLoaded, Milestone::Ready}) {
    ASSERT_TRUE(t.at(m)) << to_string(m);
  }
  EXPECT_LE(*t.at(Milestone::PortOpen), *t.at(Milestone::LoadStarted));
  EXPECT_LE(*t.at(Milestone::LoadStarted), *t.at(Milestone::ModelLoaded));
  EXPECT_LE(*t.at(Milestone::ModelLoaded), *t.at(Milestone::Ready));
  EXPECT_GT(*t.at(Milestone::PortOpen), 0.0);  // measured from process start, which is earlier
}

TEST(Readiness, NeverGoesBackwardsOrLeavesAFinalState) {
  Readiness r;
  r.enter(Phase::WarmingUp);
  r.enter(Phase::LoadingModel);
  EXPECT_EQ(r.phase(), Phase::WarmingUp);
  r.enter(Phase::Ready);
  r.fail("too late");
  EXPECT_EQ(r.phase(), Phase::Ready);
  EXPECT_EQ(r.failure_reason(), "");

  Readiness f;
  f.fail("model file not readable");
  f.enter(Phase::Ready);
  EXPECT_EQ(f.phase(), Phase::Failed);
  EXPECT_EQ(f.failure_reason(), "model file not readable");
  f.fail("second reason is ignored");
  EXPECT_EQ(f.failure_reason(), "model file not readable");
  EXPECT_TRUE(f.timeline().at(Milestone::Failed));
}

// The log's reason and the short code /health may show are kept apart.
TEST(Readiness, FailureHasAPublicCodeBesideTheLoggedReason) {
  Readiness r;
  EXPECT_EQ(r.public_failure_reason(), "");
  r.fail("/srv/models/x.pt: PytorchStreamReader failed", "model_load_failed");
  EXPECT_EQ(r.failure_reason(), "/srv/models/x.pt: PytorchStreamReader failed");
  EXPECT_EQ(r.public_failure_reason(), "model_load_failed");
  Readiness unnamed;
  unnamed.fail("boom");
  EXPECT_EQ(unnamed.public_failure_reason(), "start_up_failed");
}

TEST(Readiness, ConcurrentReadersSeeAMonotonicSequenceAndTheReasonWithFailed) {
  for (int round = 0; round < 20; ++round) {
    Readiness r;
    std::atomic<bool> go{false}, bad{false};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i) {
      readers.emplace_back([&] {
        while (!go.load()) {}
        int last = 0;
        for (int k = 0; k < 20000; ++k) {
          const Phase p = r.phase();
          if (static_cast<int>(p) < last) bad = true;
          last = static_cast<int>(p);
          if (p == Phase::Failed && r.failure_reason() != "boom") bad = true;
        }
      });
    }
    go = true;
    r.enter(Phase::LoadingModel);
    r.enter(Phase::WarmingUp);
    r.fail("boom");
    for (auto& t : readers) t.join();
    EXPECT_FALSE(bad.load());
  }
}

TEST(Readiness, WaiterWakesOnTheStateChangeNotTheTimeout) {
  Readiness r;
  std::atomic<int> result{-1};
  const auto started = std::chrono::steady_clock::now();
  std::thread waiter([&] {
    result = static_cast<int>(r.wait_until_settled(std::chrono::seconds(60)));
  });
  r.enter(Phase::LoadingModel);
  r.enter(Phase::Ready);
  waiter.join();
  EXPECT_EQ(result.load(), static_cast<int>(Phase::Ready));
  // Woken by the change: far less than the 60 s timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

TEST(Readiness, WaiterWakesOnFailureAndTimesOutWhileLoading) {
  Readiness r;
  r.enter(Phase::LoadingModel);
  EXPECT_EQ(r.wait_until_settled(std::chrono::milliseconds(20)), Phase::LoadingModel);
  std::thread failer([&] { r.fail("no"); });
  EXPECT_EQ(r.wait_until_settled(std::chrono::seconds(60)), Phase::Failed);
  failer.join();
}

// --warmup-runs 0: Ready means loaded, not working. The first failed forward pass of a model that
// never ran turns the instance Failed; once one pass has succeeded, failures stay per request.
TEST(Readiness, AnUnprovenModelsFirstFailureIsTheOneWayOutOfReady) {
  Readiness r;
  r.enter(Phase::Ready);
  EXPECT_FALSE(r.proven());
  EXPECT_TRUE(r.fail_unproven("reshape failed"));
  EXPECT_EQ(r.phase(), Phase::Failed);
  EXPECT_NE(r.failure_reason().find("first forward pass failed"), std::string::npos) << r.failure_reason();
  EXPECT_NE(r.failure_reason().find("reshape failed"), std::string::npos);
  EXPECT_TRUE(r.timeline().at(Milestone::Failed));
  EXPECT_FALSE(r.fail_unproven("second"));
  EXPECT_EQ(r.failure_reason().find("second"), std::string::npos);

  Readiness proven;
  proven.enter(Phase::Ready);
  proven.mark_proven();
  proven.fail_unproven("a later failure");
  EXPECT_EQ(proven.phase(), Phase::Ready);
  EXPECT_EQ(proven.failure_reason(), "");

  Readiness loading;  // only a Ready instance is turned: a start still running fails by fail()
  loading.enter(Phase::WarmingUp);
  loading.fail_unproven("x");
  EXPECT_EQ(loading.phase(), Phase::WarmingUp);
}

}  // namespace
}  // namespace cutout::service
