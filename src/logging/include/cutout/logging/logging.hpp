#pragma once
// Logging through spdlog. In json mode every line is one JSON object with `severity`, `message` and
// `time`, which Cloud Logging parses; extra fields become top-level keys (so `httpRequest` is
// understood). In text mode the fields follow the message as key=value.

#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

namespace cutout {

enum class LogFormat { Json, Text };

// Installs the default logger writing to stdout, or to `sink` (tests capture lines with one).
// Call once, early in main (tests may skip it).
void setup_logging(LogFormat format, spdlog::sink_ptr sink = nullptr);

// A log line with structured fields (a JSON object).
void log_event(spdlog::level::level_enum level, std::string_view message,
               const nlohmann::json& fields = nlohmann::json::object());

}  // namespace cutout
