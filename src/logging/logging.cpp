#include "cutout/logging/logging.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace cutout {
namespace {

LogFormat g_format = LogFormat::Text;

// Fields of the log_event call in progress on this thread. spdlog's synchronous logger formats on
// the calling thread, so the formatter can pick them up without changing spdlog's API.
thread_local const nlohmann::json* t_fields = nullptr;
// The thread's context fields (set_thread_log_context), merged into every line.
thread_local nlohmann::json t_context = nlohmann::json::object();

const char* severity(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "DEBUG";
    case spdlog::level::info: return "INFO";
    case spdlog::level::warn: return "WARNING";
    case spdlog::level::err: return "ERROR";
    case spdlog::level::critical: return "CRITICAL";
    default: return "DEFAULT";
  }
}

std::string iso_time(spdlog::log_clock::time_point tp) {
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(tp - seconds).count();
  const std::time_t tt = spdlog::log_clock::to_time_t(tp);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char buf[64];
  const auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", static_cast<long long>(micros));
  return buf;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json line = t_context;
    if (t_fields != nullptr && t_fields->is_object()) line.update(*t_fields);
    line["severity"] = severity(msg.level);
    line["message"] = std::string(msg.payload.data(), msg.payload.size());
    line["time"] = iso_time(msg.time);
    // Invalid UTF-8 in a message must not throw from the logger: replace it.
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// Text lines hold client text (paths, header values): a control byte is written as \xHH, so a
// "%0A" in a path cannot start a forged line and "\r" cannot hide one on a terminal.
std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (is_control(c) || c == '\\') {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

// A field value: a string with no space, quote, '=' or control byte as it is; any other string as
// a JSON string (quoted, escaped), so a value cannot pose as more key=value pairs; the rest as JSON.
std::string as_text(const nlohmann::json& value) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    const bool plain = !text.empty() && text.find_first_of(" \"=\\") == std::string::npos &&
                       std::none_of(text.begin(), text.end(), is_control);
    if (plain) return text;
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void setup_logging(LogFormat format, spdlog::sink_ptr sink) {
  g_format = format;
  if (!sink) sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("cutout", std::move(sink));
  if (format == LogFormat::Json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void log_event(spdlog::level::level_enum level, std::string_view message,
               const nlohmann::json& fields) {
  if (g_format == LogFormat::Json) {
    t_fields = &fields;
    spdlog::log(level, "{}", message);
    t_fields = nullptr;
    return;
  }
  std::string line = escaped(message);
  for (const auto& [key, value] : t_context.items()) {
    if (!fields.is_object() || !fields.contains(key)) line += " " + escaped(key) + "=" + as_text(value);
  }
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line += " " + escaped(key) + "=" + as_text(value);
  }
  spdlog::log(level, "{}", line);
}

void set_thread_log_context(nlohmann::json fields) {
  t_context = fields.is_object() ? std::move(fields) : nlohmann::json::object();
}

void clear_thread_log_context() { t_context = nlohmann::json::object(); }

}  // namespace cutout
