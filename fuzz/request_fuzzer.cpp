// libFuzzer target: one HTTP request to POST /remove-background, from its bytes to the response,
// through the library's own request parser (cpp-httplib: request line, query string, headers,
// multipart/form-data) and the server exactly as configure_server() sets it up (the early 413, CORS,
// routes), into our code: parameter parsing, format sniffing, header size limit, decoding, EXIF
// orientation, preprocessing to the model's input tensor, then the tiny model's forward pass,
// compose and encode.
//
// Input layout, so that mutations spend their effort on our code rather than on HTTP framing:
//   QUERY '\n' CONTENT-TYPE '\n' BODY
// The target writes the request line and headers itself and sets Content-Length to the body's real
// size. Missing separators leave the later parts empty.
//
// Oracle, beyond ASan/UBSan: every answer has a status below 500 (a 5xx here means an exception we
// did not anticipate: "internal", "image_processing_failed" or "inference_failed"), and every
// non-200 answer is our JSON error body carrying the same status.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cutout/app/app.hpp"
#include "cutout/config/settings.hpp"

namespace {

// An in-memory connection: reads the request from the input, collects what the server writes.
class MemoryStream : public httplib::Stream {
 public:
  explicit MemoryStream(std::string request) : request_(std::move(request)) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, request_.size() - position_);
    request_.copy(ptr, n, position_);
    position_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    response_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  const std::string& response() const { return response_; }

 private:
  std::string request_;
  size_t position_ = 0;
  std::string response_;
};

// process_request() is protected: the one way to hand the server a connection without a socket.
class InMemoryServer : public httplib::Server {
 public:
  void serve(httplib::Stream& stream) {
    bool closed = false;
    process_request(stream, /*close_connection=*/true, closed, nullptr);
  }
};

std::string model_path() {
  if (const char* env = std::getenv("CUTOUT_FUZZ_MODEL")) return env;
  return CUTOUT_FUZZ_MODEL;  // the tiny fixture model, from CMake
}

// The app as main() wires it (app::App), serving on an InMemoryServer it configures as usual.
cutout::config::Settings fuzz_settings() {
  cutout::config::Settings s;
  s.host = "127.0.0.1";
  s.port = 0;
  s.model_path = model_path();
  s.device = cutout::DeviceSetting::Cpu;
  s.input_size = 32;
  s.warmup_runs = 0;
  s.queue_depth = 4;
  s.max_body_bytes = 1u << 20;
  // A lower pixel limit than the service default keeps single inputs fast; the check is the same.
  s.max_pixels = 1'000'000;
  s.cors_origins = {"https://app.example"};
  return s;
}

struct Service {
  InMemoryServer* server = nullptr;  // owned by app
  std::unique_ptr<cutout::app::App> app;

  Service() {
    spdlog::set_level(spdlog::level::off);  // the access log would flood the fuzzer's output
    torch::set_num_threads(1);
    auto in_memory = std::make_unique<InMemoryServer>();
    server = in_memory.get();
    app = std::make_unique<cutout::app::App>(fuzz_settings(), std::move(in_memory));
    app->load_now();
    if (!app->readiness().ready()) {
      std::fprintf(stderr, "request_fuzzer: model %s did not load: %s\n", model_path().c_str(),
                   app->readiness().failure_reason().c_str());
      std::abort();
    }
    // httplib writes a body from a content provider (our closing error answers) only while the
    // server runs, as it does in production: so it listens on loopback, unused, on its own thread.
    try {
      app->listen();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "request_fuzzer: %s\n", e.what());
      std::abort();
    }
  }
};

Service& service() {
  static Service* s = new Service();  // never destroyed: libFuzzer may exit from any thread
  return *s;
}

std::string_view take_line(std::string_view& rest) {
  const size_t end = rest.find('\n');
  const std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

[[noreturn]] void finding(const char* what, const std::string& request, const std::string& response) {
  std::fprintf(stderr, "request_fuzzer: %s\n--- request (%zu bytes, first 512) ---\n%.512s\n"
               "--- response (first 2048) ---\n%.2048s\n",
               what, request.size(), request.c_str(), response.c_str());
  std::abort();
}

// CUTOUT_FUZZ_STATUS=1 prints each answer's status and error type: what a corpus reaches.
void print_status(const std::string& response) {
  static const bool enabled = std::getenv("CUTOUT_FUZZ_STATUS") != nullptr;
  if (!enabled) return;
  const size_t type = response.find("\"type\":\"");
  const std::string error =
      type == std::string::npos ? "" : response.substr(type + 8, response.find('"', type + 8) - type - 8);
  std::printf("status %.3s %s\n", response.empty() ? "(none)" : response.c_str() + 9, error.c_str());
}

void check_response(const std::string& request, const std::string& response) {
  print_status(response);
  if (response.empty()) return;  // the library dropped a request it could not read: no answer
  int status = 0;
  if (std::sscanf(response.c_str(), "HTTP/1.1 %d", &status) != 1) {
    finding("response without a status line", request, response);
  }
  if (status >= 500) finding("5xx answer", request, response);
  if (status == 200) return;
  const size_t head_end = response.find("\r\n\r\n");
  const std::string body = head_end == std::string::npos ? "" : response.substr(head_end + 4);
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("error") || !json["error"].is_object() ||
      json["error"].value("code", 0) != status || !json["error"]["type"].is_string()) {
    finding("error answer without the JSON error body", request, response);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  service();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Service& s = service();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view query = take_line(rest);
  const std::string_view content_type = take_line(rest);
  const std::string_view body = rest;

  std::string request = "POST /remove-background";
  if (!query.empty()) request.append("?").append(query);
  request.append(" HTTP/1.1\r\nHost: fuzz\r\nOrigin: https://app.example\r\n");
  if (!content_type.empty()) request.append("Content-Type: ").append(content_type).append("\r\n");
  request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  request.append(body);

  MemoryStream stream(request);
  s.server->serve(stream);
  check_response(request, stream.response());
  return 0;
}
