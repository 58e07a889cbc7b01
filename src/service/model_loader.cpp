#include "cutout/service/model_loader.hpp"

#include <chrono>
#include <filesystem>
#include <system_error>

#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include "cutout/core/error.hpp"
#include "cutout/core/process_clock.hpp"
#include "cutout/engine/device.hpp"
#include "cutout/engine/model.hpp"
#include "cutout/logging/logging.hpp"
#include "cutout/service/startup_progress.hpp"

namespace cutout::service {
namespace {

std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

}  // namespace

SelfTestReport ModelLoader::warm_up(engine::Model& model, int runs) {
  SelfTestReport report;
  if (runs < 1) {
    report.why = "no warm-up pass (--warmup-runs 0)";
  } else if (!model.golden()) {
    report.why = "the model file has no golden probe (cutout_golden.json); re-export it to check its answer";
  }
  for (int i = 0; i < runs; ++i) {
    if (i > 0 || !model.golden()) {
      model.warm_up();
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    const engine::SelfTestResult result = model.self_test();
    report.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    report.max_difference = result.max_difference;
    report.tolerance = result.tolerance;
    if (!result.passed) throw Error(ErrorKind::Internal, "self_test_failed", result.reason);
    report.status = "passed";
  }
  if (report.status == "passed") {
    log_event(spdlog::level::info, "self-test passed",
              {{"max_difference", report.max_difference},
               {"tolerance", report.tolerance},
               {"ms", report.ms}});
  } else {
    log_event(spdlog::level::warn, "self-test skipped: the model's answer was not checked",
              {{"why", report.why}});
  }
  return report;
}

ModelLoader::ModelLoader(Readiness& readiness, LoadPlan plan)
    : readiness_(readiness), plan_(std::move(plan)), model_file_bytes_(file_size_or_zero(plan_.model_path)) {
  // Until the device is chosen, auto counts as the GPU it is deployed on; corrected right after.
  readiness_.set_typical_durations(typical_phase_durations(
      plan_.device != DeviceSetting::Cpu, model_file_bytes_, plan_.warmup_runs));
}

ModelLoader::~ModelLoader() { join(); }

void ModelLoader::start() { thread_ = std::thread([this] { load(); }); }

void ModelLoader::join() {
  if (thread_.joinable()) thread_.join();
}

engine::Model* ModelLoader::model() const {
  return readiness_.ready() ? model_.get() : nullptr;
}

ModelInfo ModelLoader::info() const {
  ModelInfo info;
  const engine::Model* m = model();
  if (m == nullptr) return info;
  const auto& meta = m->metadata();
  info.name = meta.name;
  info.mode = meta.mode;
  info.input_width = meta.input_width;
  info.input_height = meta.input_height;
  info.metadata_embedded = meta.embedded;
  info.device = engine::device_name(m->device());
  info.precision = engine::dtype_name(m->dtype());
  info.self_test = self_test_;
  return info;
}

void ModelLoader::load() {
  try {
    readiness_.enter(Phase::LoadingModel);
    const engine::ComputeTarget target = engine::choose_compute_target(plan_.device, plan_.precision);
    readiness_.mark(Milestone::DeviceSelected);
    readiness_.set_typical_durations(
        typical_phase_durations(target.device.is_cuda(), model_file_bytes_, plan_.warmup_runs));
    log_event(spdlog::level::info, "device selected",
              {{"device", engine::device_name(target.device)},
               {"precision", engine::dtype_name(target.dtype)},
               {"reason", target.reason}});

    auto model = std::make_unique<engine::Model>(engine::Model::load(
        plan_.model_path, target.device, target.dtype, plan_.default_input_size));
    const auto& meta = model->metadata();
    log_event(spdlog::level::info, "model loaded",
              {{"model", meta.name},
               {"path", plan_.model_path},
               {"input", std::to_string(meta.input_width) + "x" + std::to_string(meta.input_height)},
               {"metadata", meta.embedded ? "embedded" : "inspyrenet defaults"}});

    readiness_.enter(Phase::WarmingUp);
    self_test_ = warm_up(*model, plan_.warmup_runs);
    if (plan_.warmup_runs > 0) readiness_.mark_proven();

    model_ = std::move(model);
    readiness_.enter(Phase::Ready);

    log_event(spdlog::level::info, "ready", {{"timeline", to_json(readiness_.timeline())}});
  } catch (const Error& e) {
    readiness_.fail(e.what(), e.type());
  } catch (const c10::Error& e) {
    readiness_.fail(std::string("libtorch: ") + e.what_without_backtrace(), "libtorch_error");
  } catch (const std::exception& e) {
    readiness_.fail(e.what(), "start_up_failed");
  }
  if (readiness_.phase() == Phase::Failed) {
    log_event(spdlog::level::err, "start-up failed", {{"reason", readiness_.failure_reason()}});
  }
}

}  // namespace cutout::service
