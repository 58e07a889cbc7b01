// The black-box test: the built cutout-server binary as a separate process, as an operator runs it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/fixtures.hpp"
#include "support/test_images.hpp"

namespace {

using cutout::testing::fixture_path;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A running cutout-server with its stdout (JSON log lines) collected on a thread.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]);
      close(err[0]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(CUTOUT_SERVER_BINARY));
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(CUTOUT_SERVER_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    readers_.emplace_back([this, fd = out[0]] { drain(fd, stdout_); });
    readers_.emplace_back([this, fd = err[0]] { drain(fd, stderr_); });
  }
  ~ServerProcess() {
    if (!exited_) {
      kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(10));
    }
    for (auto& t : readers_) t.join();
  }

  // The port from the "listening" log line.
  int wait_for_port(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& line : split_lines(stdout_)) {
          const json j = json::parse(line, nullptr, false);
          if (j.is_object() && j.value("message", "") == "listening") return j["port"].get<int>();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  // Exit status, or -1 if it did not exit in time.
  int wait_exit(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  void signal(int sig) const { kill(pid_, sig); }
  std::string stdout_text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stdout_;
  }
  std::string stderr_text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stderr_;
  }

 private:
  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0, end;
    while ((end = text.find('\n', start)) != std::string::npos) {
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }
  void drain(int fd, std::string& into) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      into.append(buf, static_cast<std::size_t>(n));
    }
    close(fd);
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  std::mutex mutex_;
  std::string stdout_, stderr_;
  std::vector<std::thread> readers_;
};

// Polls /health until it answers `status` and the body's "status" is `state`, or the deadline.
httplib::Result wait_for_health(int port, int status, const std::string& state,
                                std::chrono::seconds timeout) {
  httplib::Client client("127.0.0.1", port);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto res = client.Get("/health");
    const bool done = res && res->status == status &&
                      json::parse(res->body, nullptr, false).value("status", "") == state;
    if (done || Clock::now() >= deadline) return res;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST(ServerProcess, StartsServesAndStopsCleanlyOnSigterm) {
  ServerProcess server({"--model", fixture_path("slow.pt"), "--port", "0", "--host", "127.0.0.1",
                        "--device", "cpu", "--log-format", "json"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 200, "ready", std::chrono::seconds(120));
  ASSERT_TRUE(health);
  ASSERT_EQ(health->status, 200) << health->body;

  // Removing a background, as curl would.
  const std::string jpeg = cutout::testing::encode_as(cutout::testing::make_picture(300, 200), ".jpg");
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  httplib::MultipartFormDataItems items = {{"image", jpeg, "photo.jpg", "image/jpeg"}};
  auto res = client.Post("/remove-background", items);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const cv::Mat out = cv::imdecode(cv::Mat(1, static_cast<int>(res->body.size()), CV_8UC1, res->body.data()),
                                   cv::IMREAD_UNCHANGED);
  EXPECT_EQ(out.channels(), 4);
  EXPECT_EQ(out.cols, 300);
  EXPECT_EQ(out.rows, 200);

  // SIGTERM while a request is in flight (the slow model takes a while): it is still answered.
  auto in_flight = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c.Post("/remove-background", jpeg, "image/jpeg");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  server.signal(SIGTERM);
  auto last = in_flight.get();
  ASSERT_TRUE(last) << "in-flight request lost";
  EXPECT_EQ(last->status, 200);
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), 0) << server.stdout_text();

  // The log is one JSON object per line with the fields Cloud Logging reads, and a ready timeline.
  // Access lines carry Cloud Logging's httpRequest; health probes are not logged.
  bool saw_ready = false;
  int access_lines = 0;
  std::istringstream lines(server.stdout_text());
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("severity") && j.contains("message") && j.contains("time")) << line;
    if (j["message"] == "ready") saw_ready = j["timeline"]["since_process_start_ms"].contains("ready_ms");
    if (j.contains("httpRequest")) {
      ++access_lines;
      EXPECT_EQ(j["httpRequest"]["requestUrl"], "/remove-background") << line;
      EXPECT_EQ(j["httpRequest"]["status"], 200) << line;
      EXPECT_TRUE(j.contains("server_timing")) << line;
    }
  }
  EXPECT_TRUE(saw_ready);
  EXPECT_EQ(access_lines, 2);
}

TEST(ServerProcess, BadSettingStopsWithExitCode2AndOneLine) {
  ServerProcess server({"--device", "tpu"});
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(30)), 2);
  const std::string err = server.stderr_text();
  EXPECT_NE(err.find("--device"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(ServerProcess, FailedLoadIsReportedThenExitsNonZero) {
  ServerProcess server({"--model", fixture_path("wrong_shape.pt"), "--port", "0", "--host", "127.0.0.1",
                        "--device", "cpu", "--fail-exit-delay-ms", "3000"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 503, "failed", std::chrono::seconds(60));
  ASSERT_TRUE(health);
  const json body = json::parse(health->body);
  EXPECT_EQ(body["status"], "failed");
  EXPECT_EQ(body["error"]["type"], "model_failed") << body.dump();
  // The public answer names a short code; the reason (with the model path) is in the log only.
  EXPECT_EQ(body["reason"], "bad_model_output") << body.dump();
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(30)), 3);
  EXPECT_NE(server.stdout_text().find("shape"), std::string::npos) << server.stdout_text();
}

// --warmup-runs 0 and a model whose forward pass always fails: the instance said ready and answered
// 500 for ever. Its first request now fails it: 500 for that request, /health 503 "failed" with the
// short code (the reason in the log), and exit code 3 as for a failed start.
TEST(ServerProcess, UnprovenModelWhoseFirstForwardFailsExits3) {
  ServerProcess server({"--model", fixture_path("fails_in_forward.pt"), "--port", "0", "--host",
                        "127.0.0.1", "--device", "cpu", "--warmup-runs", "0", "--fail-exit-delay-ms", "1500"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 200, "ready", std::chrono::seconds(60));
  ASSERT_TRUE(health);
  ASSERT_EQ(health->status, 200) << health->body;

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(16, 16), ".png");
  auto first = client.Post("/remove-background", png, "image/png");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 500);
  EXPECT_EQ(json::parse(first->body)["error"]["type"], "inference_failed") << first->body;

  health = wait_for_health(port, 503, "failed", std::chrono::seconds(10));
  ASSERT_TRUE(health);
  ASSERT_EQ(health->status, 503) << health->body;
  const json body = json::parse(health->body);
  EXPECT_EQ(body["reason"], "first_forward_failed") << body.dump();
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(30)), 3);
  EXPECT_NE(server.stdout_text().find("first forward pass failed"), std::string::npos) << server.stdout_text();
}

// A FIFO as the model path: opening it blocked until a writer came, so the start hung in
// loading_model for ever. Now a clear failed start: /health 503 "failed" with the reason, exit 3.
TEST(ServerProcess, AFifoAsModelPathIsAFailedStartNotAHang) {
  const std::string fifo = ::testing::TempDir() + "cutout_model_fifo_" + std::to_string(getpid()) + ".pt";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << fifo;
  ServerProcess server({"--model", fifo.c_str(), "--port", "0", "--host", "127.0.0.1", "--device", "cpu",
                        "--fail-exit-delay-ms", "1500"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 503, "failed", std::chrono::seconds(60));
  ASSERT_TRUE(health);
  const json body = json::parse(health->body);
  EXPECT_EQ(body["status"], "failed") << body.dump();
  EXPECT_EQ(body["reason"], "model_load_failed") << body.dump();
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(30)), 3);
  EXPECT_NE(server.stdout_text().find("not a regular file"), std::string::npos) << server.stdout_text();
  unlink(fifo.c_str());
}

// Every way the model file can be broken: one clear "start-up failed" log line with the reason,
// /health 503 "failed" with the same reason, then exit code 3 after --fail-exit-delay-ms.
struct ModelFault {
  const char* file;
  const char* reason_part;    // what the logged reason must say
  const char* public_reason;  // all that /health may say of it (the log has the rest)
};

void PrintTo(const ModelFault& fault, std::ostream* os) { *os << fault.file; }

class ServerProcessModelFault : public ::testing::TestWithParam<ModelFault> {};

TEST_P(ServerProcessModelFault, IsLoggedReportedOnHealthAndExits3) {
  const ModelFault fault = GetParam();
  ServerProcess server({"--model", fixture_path(fault.file), "--port", "0", "--host", "127.0.0.1",
                        "--device", "cpu", "--fail-exit-delay-ms", "1500"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 503, "failed", std::chrono::seconds(60));
  ASSERT_TRUE(health);
  const json body = json::parse(health->body);
  ASSERT_EQ(body["status"], "failed") << body.dump();
  ASSERT_EQ(body["error"]["type"], "model_failed") << body.dump();
  const std::string message = body["error"]["message"].get<std::string>();
  // Anyone may read /health: the short code only, never the model path or the library's message.
  EXPECT_EQ(body["reason"], fault.public_reason) << body.dump();
  EXPECT_NE(message.find(fault.public_reason), std::string::npos) << message;
  EXPECT_EQ(message.find(fault.reason_part), std::string::npos) << message;
  EXPECT_EQ(message.find(fault.file), std::string::npos) << message;
  // An upload meanwhile gets 503 model_failed, not a hang or a crash.
  httplib::Client client("127.0.0.1", port);
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(16, 16), ".png");
  auto upload = client.Post("/remove-background", png, "image/png");
  ASSERT_TRUE(upload);
  EXPECT_EQ(upload->status, 503);
  EXPECT_EQ(json::parse(upload->body)["error"]["type"], "model_failed") << upload->body;
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(30)), 3);

  int failure_lines = 0;
  std::istringstream lines(server.stdout_text());
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("message", "") == "start-up failed") {
      ++failure_lines;
      EXPECT_EQ(j["severity"], "ERROR") << line;
      // The log has the whole reason.
      EXPECT_NE(j["reason"].get<std::string>().find(fault.reason_part), std::string::npos) << line;
    }
  }
  EXPECT_EQ(failure_lines, 1) << server.stdout_text();
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ServerProcessModelFault,
    ::testing::Values(
        ModelFault{"missing.pt", "model file not readable", "model_load_failed"},
        ModelFault{"truncated.pt", "not a loadable TorchScript file", "model_load_failed"},
        ModelFault{"not_torchscript.pt", "not a loadable TorchScript file", "model_load_failed"},
        ModelFault{"wrong_shape.pt", "expected [1, 1, H, W]", "bad_model_output"},
        ModelFault{"bad_metadata.pt", "invalid cutout.json", "invalid_metadata"},
        ModelFault{"golden_wrong.pt", "differs from the file's FP32 reference by 0.3", "self_test_failed"},
        ModelFault{"golden_nan.pt", "holds NaN or Inf in 1 of 1024 values", "self_test_failed"}),
    [](const ::testing::TestParamInfo<ModelFault>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.'));
      return name;
    });

// SIGTERM in the middle of a burst on the slow model: every request already sent is answered
// (200), none is lost, and the process exits 0 within Cloud Run's 10 s.
TEST(ServerProcess, SigtermDuringABurstAnswersEveryInFlightRequest) {
  ServerProcess server({"--model", fixture_path("slow.pt"), "--port", "0", "--host", "127.0.0.1",
                        "--device", "cpu", "--http-threads", "8", "--queue-depth", "8"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 200, "ready", std::chrono::seconds(120));
  ASSERT_TRUE(health && health->status == 200);

  const std::string jpeg = cutout::testing::encode_as(cutout::testing::make_picture(200, 150), ".jpg");
  constexpr int kBurst = 6;
  std::atomic<int> sent{0};
  std::vector<std::future<httplib::Result>> burst;
  for (int i = 0; i < kBurst; ++i) {
    burst.push_back(std::async(std::launch::async, [&] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      ++sent;
      return c.Post("/remove-background", jpeg, "image/jpeg");
    }));
  }
  while (sent.load() < kBurst) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all connected and uploading
  const auto signalled = Clock::now();
  server.signal(SIGTERM);
  int answered = 0;
  for (auto& f : burst) {
    auto res = f.get();
    ASSERT_TRUE(res) << "an in-flight request was lost: " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << res->body;
    ++answered;
  }
  EXPECT_EQ(answered, kBurst);
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), 0) << server.stdout_text();
  EXPECT_LT(Clock::now() - signalled, std::chrono::seconds(10));
}

// SIGTERM while a failed start is still being shown on /health: the exit code still says the
// start failed (3), not 0.
TEST(ServerProcess, SigtermDuringTheFailedStartWindowExits3) {
  ServerProcess server({"--model", fixture_path("wrong_shape.pt"), "--port", "0", "--host", "127.0.0.1",
                        "--device", "cpu", "--fail-exit-delay-ms", "60000"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 503, "failed", std::chrono::seconds(60));
  ASSERT_TRUE(health && health->status == 503);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), 3) << server.stdout_text();
}

// Idle and half-sent connections (a slowloris that stopped mid-headers, a body cut short) do not
// hold up a stop: SIGTERM exits 0 at once. (Before, one such connection made it 8 s and exit 5.)
TEST(ServerProcess, SigtermWithIdleAndHalfSentConnectionsExits0AtOnce) {
  ServerProcess server({"--model", fixture_path("tiny.pt"), "--port", "0", "--host", "127.0.0.1",
                        "--device", "cpu"});
  const int port = server.wait_for_port(std::chrono::seconds(60));
  ASSERT_GT(port, 0) << server.stdout_text() << server.stderr_text();
  auto health = wait_for_health(port, 200, "ready", std::chrono::seconds(120));
  ASSERT_TRUE(health && health->status == 200);
  std::vector<int> sockets;
  const char* starts[] = {"", "", "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a",
                          "POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n01234"};
  for (const char* start : starts) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    if (*start != '\0') {
      ASSERT_GT(send(fd, start, std::strlen(start), MSG_NOSIGNAL), 0);
    }
    sockets.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto signalled = Clock::now();
  server.signal(SIGTERM);
  const int code = server.wait_exit(std::chrono::seconds(10));
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - signalled).count();
  std::printf("[ measured ] SIGTERM to exit with 4 idle or half-sent connections open: %.0f ms\n", ms);
  EXPECT_EQ(code, 0) << server.stdout_text();
  EXPECT_LT(ms, 2000.0);
  for (int fd : sockets) close(fd);
}

}  // namespace
