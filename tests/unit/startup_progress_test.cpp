#include "cutout/service/startup_progress.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "cutout/service/model_loader.hpp"
#include "support/fixtures.hpp"

namespace cutout::service {
namespace {

const PhaseDurations kTypical = {1000, 500, 2000};  // starting, loading_model, warming_up

TEST(StartupProgress, RemainingIsTheRestOfTheCurrentPhasePlusTheLaterOnes) {
  const StartupProgress s = estimate_progress(Phase::Starting, 300, 300, kTypical);
  EXPECT_EQ(s.phase_index, 1);
  EXPECT_DOUBLE_EQ(s.estimated_remaining_ms, 700 + 500 + 2000);
  EXPECT_FALSE(s.phase_overdue);

  const StartupProgress l = estimate_progress(Phase::LoadingModel, 1400, 200, kTypical);
  EXPECT_EQ(l.phase_index, 2);
  EXPECT_DOUBLE_EQ(l.estimated_remaining_ms, 300 + 2000);

  const StartupProgress w = estimate_progress(Phase::WarmingUp, 2000, 1500, kTypical);
  EXPECT_EQ(w.phase_index, 3);
  EXPECT_DOUBLE_EQ(w.estimated_remaining_ms, 500);
}

TEST(StartupProgress, APhasePastItsTypicalDurationIsFlooredAtZeroAndSaysOverdue) {
  const StartupProgress l = estimate_progress(Phase::LoadingModel, 5000, 800, kTypical);
  EXPECT_TRUE(l.phase_overdue);
  EXPECT_DOUBLE_EQ(l.estimated_remaining_ms, 2000);  // only the warm-up is left to estimate
  const StartupProgress w = estimate_progress(Phase::WarmingUp, 9000, 7000, kTypical);
  EXPECT_TRUE(w.phase_overdue);
  EXPECT_DOUBLE_EQ(w.estimated_remaining_ms, 0);
}

TEST(StartupProgress, ReadyIsTheLastPhaseWithNothingLeft) {
  const StartupProgress r = estimate_progress(Phase::Ready, 4000, 10, kTypical);
  EXPECT_EQ(r.phase_index, kStartupPhaseCount);
  EXPECT_DOUBLE_EQ(r.estimated_remaining_ms, 0);
  EXPECT_FALSE(r.phase_overdue);
}

TEST(StartupProgress, TypicalDurationsGrowWithTheFileAndTheWarmupRunsAndDifferByDevice) {
  constexpr std::uintmax_t kMiB = 1024 * 1024;
  const PhaseDurations small = typical_phase_durations(false, 1 * kMiB, 1);
  const PhaseDurations big = typical_phase_durations(false, 100 * kMiB, 1);
  EXPECT_LT(small[1], big[1]);
  EXPECT_LT(small[2], big[2]);
  EXPECT_DOUBLE_EQ(small[0], big[0]);  // starting does not depend on the model
  const PhaseDurations twice = typical_phase_durations(false, 100 * kMiB, 2);
  EXPECT_DOUBLE_EQ(twice[2], 2 * big[2]);
  EXPECT_DOUBLE_EQ(twice[1], big[1]);
  EXPECT_DOUBLE_EQ(typical_phase_durations(false, 100 * kMiB, 0)[2], 0);
  const PhaseDurations gpu = typical_phase_durations(true, 100 * kMiB, 1);
  EXPECT_GT(gpu[1], big[1]);  // CUDA context creation
  EXPECT_LT(gpu[2], big[2]);  // the forward pass itself is fast on a GPU
  // The per-MiB arithmetic: 100 MiB costs 99 MiB more than 1 MiB.
  EXPECT_NEAR((big[1] - small[1]) / 99.0,
              (typical_phase_durations(false, 51 * kMiB, 1)[1] - small[1]) / 50.0, 1e-9);
}

TEST(StartupProgress, JsonNamesThePhasesInOrderWithWholeMilliseconds) {
  const nlohmann::json j = to_json(estimate_progress(Phase::LoadingModel, 1400.4, 200.2, {1000.4, 500.6, 2000}));
  EXPECT_EQ(j["phase"], "loading_model");
  EXPECT_EQ(j["phase_index"], 2);
  EXPECT_EQ(j["phase_count"], 4);
  EXPECT_EQ(j["estimated_remaining_ms"], 2300);  // 300.4 + 2000, rounded
  EXPECT_EQ(j["phase_overdue"], false);
  EXPECT_DOUBLE_EQ(j["elapsed_ms"].get<double>(), 1400.4);
  ASSERT_EQ(j["phases"].size(), 4u);
  EXPECT_EQ(j["phases"][0]["name"], "starting");
  EXPECT_EQ(j["phases"][0]["typical_ms"], 1000);
  EXPECT_EQ(j["phases"][1]["name"], "loading_model");
  EXPECT_EQ(j["phases"][1]["typical_ms"], 501);
  EXPECT_EQ(j["phases"][2]["name"], "warming_up");
  EXPECT_EQ(j["phases"][3]["name"], "ready");
  EXPECT_FALSE(j["phases"][3].contains("typical_ms"));
}

TEST(StartupProgress, ReadinessKeepsTheTypicalDurationsTheLoaderSets) {
  Readiness r;
  r.set_typical_durations({1, 2, 3});
  EXPECT_EQ(r.typical_durations(), (PhaseDurations{1, 2, 3}));
  r.enter(Phase::LoadingModel);
  const StartupProgress p = current_progress(r, r.phase());
  EXPECT_EQ(p.phase, Phase::LoadingModel);
  EXPECT_EQ(p.typical_ms, (PhaseDurations{1, 2, 3}));
  EXPECT_GE(p.elapsed_ms, p.phase_elapsed_ms);
}

TEST(StartupProgress, TheLoaderEstimatesFromItsFileAndCorrectsForTheChosenDevice) {
  const std::string path = cutout::testing::fixture_path("slow.pt");
  const auto bytes = std::filesystem::file_size(path);
  Readiness cpu;
  ModelLoader pinned(cpu, LoadPlan{path, DeviceSetting::Cpu, PrecisionSetting::Auto, 32, 3});
  EXPECT_EQ(cpu.typical_durations(), typical_phase_durations(false, bytes, 3));

  Readiness r;
  ModelLoader loader(r, LoadPlan{path, DeviceSetting::Auto, PrecisionSetting::Auto, 32, 2});
  EXPECT_EQ(r.typical_durations(), typical_phase_durations(true, bytes, 2));  // auto: a GPU until known
  loader.load();
  ASSERT_TRUE(r.ready());
  const bool on_gpu = loader.info().device.rfind("cuda", 0) == 0;  // "cuda:0"
  EXPECT_EQ(r.typical_durations(), typical_phase_durations(on_gpu, bytes, 2));
}

}  // namespace
}  // namespace cutout::service
