#pragma once
// What a model file says about itself: the `cutout.json` extra file inside the TorchScript archive
// (schema in models/cutout_meta.py). Files without it get InSPyReNet's defaults.

#include <array>
#include <string>
#include <vector>

namespace cutout::engine {

enum class ChannelOrder { Rgb, Bgr };
enum class OutputActivation { None, Sigmoid };

struct ModelMetadata {
  std::string name = "unnamed";
  std::string mode;            // optional, e.g. "fast"
  int input_width = 0;
  int input_height = 0;
  ChannelOrder channel_order = ChannelOrder::Rgb;
  std::array<float, 3> mean{0.f, 0.f, 0.f};  // applied as ((v / 255) - mean) / std
  std::array<float, 3> std{1.f, 1.f, 1.f};
  int output_index = 0;        // element of a tuple/list output that holds the mask
  OutputActivation activation = OutputActivation::None;
  // Submodules (dotted paths) the export keeps in float32 whatever the run precision: they leave
  // FP16's range (models/fp16_report.py). Their forward casts its input to float32 itself.
  std::vector<std::string> fp32_modules;
  bool embedded = false;       // true when read from cutout.json, false for defaults
};

inline constexpr const char* kMetadataFileName = "cutout.json";

// Throws cutout::Error (Internal, "invalid_metadata") naming the field that is wrong.
ModelMetadata parse_model_metadata(const std::string& json_text);

// transparent-background's jit files: RGB, ImageNet mean/std, probability output, square input.
ModelMetadata inspyrenet_defaults(int input_size);

}  // namespace cutout::engine
