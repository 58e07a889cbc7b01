#pragma once
// Logging through spdlog. In json mode every line is one JSON object with `severity`, `message` and
// `time`, which Cloud Logging parses; extra fields become top-level keys (so `httpRequest` is
// understood). In text mode the fields follow the message as key=value.

#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

namespace cutout {

enum class LogFormat { Json, Text };

// Installs the default logger writing to stdout, or to `sink` (tests capture lines with one).
// Call once, early in main (tests may skip it).
void setup_logging(LogFormat format, spdlog::sink_ptr sink = nullptr);

// A log line with structured fields (a JSON object).
void log_event(spdlog::level::level_enum level, std::string_view message,
               const nlohmann::json& fields = nlohmann::json::object());

// Fields every log line written by this thread carries until cleared (the HTTP layer's request:
// trace, span, request ID), whoever logs: log_event or spdlog directly. A line's own fields win
// over these. `fields` must be an object.
void set_thread_log_context(nlohmann::json fields);
void clear_thread_log_context();

}  // namespace cutout
