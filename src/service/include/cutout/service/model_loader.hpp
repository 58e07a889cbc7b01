#pragma once
// Start-up on one background thread: choose the device, load the model, warm it up, mark ready.
// Exactly once: no retries, no sleeps, no lock held while loading. A failure becomes the Failed
// state with its reason; the process decides what to do next (see main).

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "cutout/core/compute_settings.hpp"
#include "cutout/service/readiness.hpp"

namespace cutout::engine {
class Model;  // LibTorch stays behind this layer: its headers are not needed to include this one
}

namespace cutout::service {

// What to load and how. No defaults here: app::App fills it from config::Settings.
struct LoadPlan {
  std::string model_path;
  DeviceSetting device;
  PrecisionSetting precision;
  int default_input_size;  // for files without cutout.json
  int warmup_runs;
};

// The warm-up's check of the model's answer (engine::Model::self_test), as /health and /warmup
// report it.
struct SelfTestReport {
  std::string status = "skipped";  // "passed", or "skipped" with `why` (no golden, no warm-up pass)
  std::string why;                 // why skipped; empty when passed
  double max_difference = 0.0;     // largest |area mean - golden's| (when passed)
  double tolerance = 0.0;
  double ms = 0.0;                 // the pass that ran the probe (it replaces a warm-up pass)
};

// What /health says about the loaded model.
struct ModelInfo {
  std::string name;
  std::string mode;
  int input_width = 0;
  int input_height = 0;
  bool metadata_embedded = false;
  std::string device;
  std::string precision;
  SelfTestReport self_test;
};

class ModelLoader {
 public:
  ModelLoader(Readiness& readiness, LoadPlan plan);
  ~ModelLoader();  // joins the thread
  ModelLoader(const ModelLoader&) = delete;
  ModelLoader& operator=(const ModelLoader&) = delete;

  void start();        // runs load() on a background thread
  void load();         // the whole start-up, on the calling thread (used by start and by tests)
  void join();

  // The warm-up passes: the first runs the golden probe and checks the answer when the file has a
  // golden (throws cutout::Error "self_test_failed" on a wrong one), the others a neutral input.
  static SelfTestReport warm_up(engine::Model& model, int runs);

  // Non-null once the readiness state is Ready; the model lives as long as the loader.
  engine::Model* model() const;
  ModelInfo info() const;  // meaningful once Ready

 private:
  Readiness& readiness_;
  LoadPlan plan_;
  std::uintmax_t model_file_bytes_ = 0;  // for the start-up estimate only
  std::unique_ptr<engine::Model> model_;  // written before Ready is published, read after
  SelfTestReport self_test_;              // likewise
  std::thread thread_;
};

}  // namespace cutout::service
