// The hostile-input corpus (made by tests/hostile/make_corpus.py at build time) sent as raw bytes to
// an in-process server on port 0 with the tiny model, plus clients that misbehave at the connection
// level: hang up mid-upload or mid-response, stop sending, stop reading.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/fixtures.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;

using ServerOptions = cutout::config::Settings;

// The hostile cases' server: 2 MiB bodies, 4 workers, no CORS origins.
ServerOptions hostile_defaults() {
  ServerOptions o = cutout::testing::test_settings();
  o.max_body_bytes = 2u << 20;
  o.http_threads = 4;
  o.cors_origins = {};
  return o;
}

// The tiny model, loaded before the first request.
class ReadyServer : public cutout::testing::InProcessServer {
 public:
  explicit ReadyServer(const ServerOptions& o) : InProcessServer(o) { load(); }
};

int connect_to(int port, int receive_buffer = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  timeval tv{30, 0};  // a hang guard, generous for loaded CI machines: no case may wait longer
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct RawResponse {
  int status = 0;  // 0: no response
  std::string headers;
  std::string body;
  bool closed = false;  // the server closed the connection after it
};

// Reads one response (headers, then Content-Length bytes) and notes whether the server then closes.
RawResponse read_response(int fd) {
  RawResponse r;
  std::string data;
  char buf[65536];
  // Without Content-Length the body runs to the connection's close (valid HTTP/1.1).
  std::size_t header_end = std::string::npos, need = std::string::npos;
  for (;;) {
    if (header_end != std::string::npos && need != std::string::npos &&
        data.size() >= header_end + 4 + need) {
      break;
    }
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      r.closed = n == 0;
      break;
    }
    data.append(buf, static_cast<std::size_t>(n));
    if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      r.headers = data.substr(0, header_end);
      std::string lower = r.headers;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto at = lower.find("content-length:");
      if (at != std::string::npos) need = std::stoul(lower.substr(at + 15));
    }
  }
  if (header_end == std::string::npos) return r;
  if (!r.closed) {
    // Closed right after the answer? (A kept-alive connection stays silent for 5 s.)
    pollfd p{fd, POLLIN, 0};
    r.closed = poll(&p, 1, 2000) == 1 && recv(fd, buf, sizeof(buf), MSG_PEEK) == 0;
  }
  r.status = std::atoi(r.headers.c_str() + r.headers.find(' ') + 1);
  r.body = data.substr(header_end + 4, need);  // npos: all of it
  return r;
}

// Sends `request` on its own thread (the server may answer before the body is all sent, or never
// read it) while this thread reads the answer.
RawResponse round_trip(int port, const std::string& request) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  std::thread sender([&] { send_all(fd, request); });
  RawResponse r = read_response(fd);
  shutdown(fd, SHUT_RDWR);  // unblocks the sender if the server stopped reading
  sender.join();
  close(fd);
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

cv::Mat decode(const std::string& body) {
  if (body.empty()) return {};
  return cv::imdecode(cv::Mat(1, static_cast<int>(body.size()), CV_8UC1, const_cast<char*>(body.data())),
                      cv::IMREAD_UNCHANGED);
}

std::string normal_request() {
  static const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(64, 48), ".png");
  return "POST /remove-background HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: image/png\r\n"
         "Content-Length: " + std::to_string(png.size()) + "\r\n\r\n" + png;
}

void expect_serves_normally(int port) {
  const RawResponse r = round_trip(port, normal_request());
  ASSERT_EQ(r.status, 200) << r.headers << r.body;
  const cv::Mat out = decode(r.body);
  EXPECT_EQ(out.cols, 64);
  EXPECT_EQ(out.rows, 48);
}

json load_manifest() {
  return json::parse(read_file(std::string(CUTOUT_CORPUS_DIR) + "/cases.json"));
}

TEST(HostileCorpus, EveryCaseGetsItsExactAnswerAndTheServerKeepsServing) {
  const json manifest = load_manifest();
  ServerOptions limits = hostile_defaults();
  limits.max_body_bytes = manifest["server"]["max_body_bytes"].get<std::size_t>();
  limits.max_pixels = manifest["server"]["max_pixels"].get<std::size_t>();
  ReadyServer server(limits);
  ASSERT_GE(manifest["cases"].size(), 100u);

  for (const json& c : manifest["cases"]) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name + ": " + c["why"].get<std::string>());
    const RawResponse r = round_trip(server.port(), read_file(std::string(CUTOUT_CORPUS_DIR) + "/" +
                                                            c["file"].get<std::string>()));
    const int status = c["status"].get<int>();
    ASSERT_EQ(r.status, status) << r.headers << "\n" << r.body.substr(0, 300);
    if (status == 200) {
      const cv::Mat out = decode(r.body);
      EXPECT_EQ(out.cols, c["width"].get<int>());
      EXPECT_EQ(out.rows, c["height"].get<int>());
      EXPECT_EQ(out.channels(), c["channels"].get<int>());
    } else {
      EXPECT_NE(r.headers.find("Content-Type: application/json"), std::string::npos) << r.headers;
      const json body = json::parse(r.body, nullptr, false);
      ASSERT_TRUE(body.is_object()) << r.body;
      EXPECT_EQ(body["error"]["code"], status) << r.body;
      EXPECT_EQ(body["error"]["type"], c["type"]) << r.body;
      EXPECT_TRUE(body["error"]["message"].is_string()) << r.body;
    }
    if (status == 413 && c["type"] == "body_too_large") {
      // The body was never (fully) sent: the answer came anyway, and the connection is closed so
      // that the unread rest is not taken for the next request.
      EXPECT_TRUE(r.closed) << r.headers;
    }
    expect_serves_normally(server.port());
  }
}

// A client that announces a body, sends part of it and hangs up: the worker is freed at once.
// With two workers, ten such clients in a row would otherwise leave none for the normal request.
TEST(HostileConnections, ClientThatHangsUpMidUploadFreesItsWorker) {
  ServerOptions limits = hostile_defaults();
  limits.http_threads = 2;
  limits.max_connections = 2;  // the threads are the connections' (connections.hpp)
  ReadyServer server(limits);
  const std::string full = normal_request();
  for (int i = 0; i < 10; ++i) {
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, std::string_view(full).substr(0, full.size() / 2)));
    close(fd);
  }
  expect_serves_normally(server.port());
}

// A large answer whose client hangs up before reading it: the write fails, nothing crashes (no
// SIGPIPE), and the server goes on.
TEST(HostileConnections, ClientThatHangsUpBeforeTheResponseIsHarmless) {
  ServerOptions limits = hostile_defaults();
  limits.max_body_bytes = 32u << 20;
  limits.http_threads = 2;
  limits.max_connections = 2;  // the threads are the connections' (connections.hpp)
  ReadyServer server(limits);
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(1500, 1500), ".png");
  const std::string request = "POST /remove-background HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\n"
                              "Content-Length: " + std::to_string(png.size()) + "\r\n\r\n" + png;
  for (int i = 0; i < 4; ++i) {
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, request));
    close(fd);
  }
  expect_serves_normally(server.port());
}

// A client that stops sending mid-body is dropped after the read timeout, with a JSON 400 and the
// connection closed, so a slow-loris client cannot hold a worker.
TEST(HostileConnections, ClientThatStopsSendingIsDroppedAfterTheReadTimeout) {
  ServerOptions limits = hostile_defaults();
  limits.http_threads = 1;
  limits.max_connections = 1;  // the threads are the connections' (connections.hpp)
  limits.read_timeout_s = 1;
  ReadyServer server(limits);
  const std::string full = normal_request();
  const int fd = connect_to(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, std::string_view(full).substr(0, full.size() / 2)));
  const RawResponse r = read_response(fd);  // within the client's 30 s receive timeout
  close(fd);
  EXPECT_EQ(r.status, 400) << r.headers;
  EXPECT_TRUE(r.closed);
  expect_serves_normally(server.port());  // the only worker is free again
}

// A client that never reads a large answer is dropped after the write timeout: with one worker,
// the next request is served only if the stuck write gave up.
TEST(HostileConnections, ClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
  ServerOptions limits = hostile_defaults();
  limits.max_body_bytes = 64u << 20;
  limits.max_pixels = 20'000'000;
  limits.http_threads = 1;
  limits.max_connections = 1;  // the threads are the connections' (connections.hpp)
  limits.write_timeout_s = 1;
  ReadyServer server(limits);
  // Noise does not compress: the RGBA PNG answer is ~ 4 bytes a pixel, far beyond socket buffers.
  cv::Mat noise(2000, 2000, CV_8UC3);
  cv::randu(noise, 0, 256);
  const std::string png = cutout::testing::encode_as(noise, ".png");
  const std::string request = "POST /remove-background HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\n"
                              "Content-Length: " + std::to_string(png.size()) + "\r\n\r\n" + png;
  const int stuck = connect_to(server.port(), 4096);
  ASSERT_GE(stuck, 0);
  ASSERT_TRUE(send_all(stuck, request));
  // Never read from `stuck`. The normal request waits for the only worker.
  expect_serves_normally(server.port());
  close(stuck);
}

}  // namespace
}  // namespace cutout::http
