// The request screening (src/http/request_screen.cpp): what the service never uses is refused
// before any body byte is read, and Range is ignored. The requests go out as raw bytes so that the
// test controls exactly what is sent (and what is not: the bodies below are never sent at all, or
// are far bigger than the server could inflate or hold).

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/http/connections.hpp"
#include "cutout/http/request_screen.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;

struct RawAnswer {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// Sends `request` on a new connection and reads until the server closes it (every refusal here
// closes) or 20 s pass. Only the head of `request` need be sent for a refusal: the server answers
// without reading the body, so a test can announce a body it never sends.
RawAnswer exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  RawAnswer answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return answer;
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close before taking everything: that is the point
    sent += static_cast<std::size_t>(n);
  }
  std::string all;
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  const auto end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return answer;
  answer.status = std::stoi(all.substr(9, 3));
  answer.head = all.substr(0, end);
  answer.body = all.substr(end + 4);
  return answer;
}

std::string error_type(const RawAnswer& a) {
  const json body = json::parse(a.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].value("type", "") : "";
}

class RequestScreen : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new cutout::testing::InProcessServer();
    server_->load();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  int port() const { return server_->port(); }
  static cutout::testing::InProcessServer* server_;
};
cutout::testing::InProcessServer* RequestScreen::server_ = nullptr;

// The 405-byte brotli and 1 MB gzip bodies to POST /warmup cost +574 MB and 1.2 GB: the library
// inflated them. Now no route reads an encoded body; the head alone is refused.
TEST_F(RequestScreen, ContentEncodingIsRefusedOnEveryRouteBeforeTheBody) {
  for (const std::string path : {"/remove-background", "/warmup", "/no-such-route"}) {
    for (const std::string coding : {"gzip", "br", "deflate", "x-gzip, gzip"}) {
      SCOPED_TRACE(path + " " + coding);
      // 1 GiB announced, none of it sent.
      const RawAnswer a = exchange(port(), "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                                           "Content-Encoding: " + coding + "\r\nContent-Length: 1073741824\r\n\r\n");
      EXPECT_EQ(a.status, 415) << a.head;
      EXPECT_EQ(error_type(a), "unsupported_content_encoding") << a.body;
      EXPECT_NE(a.head.find("Accept-Encoding: identity"), std::string::npos) << a.head;
    }
  }
  // Chunked too: the library would inflate every chunk as it came.
  const RawAnswer chunked = exchange(port(), "POST /warmup HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                                             "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(chunked.status, 415);
}

TEST_F(RequestScreen, IdentityEncodingIsNoEncoding) {
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(16, 16), ".png");
  const RawAnswer a = exchange(port(), "POST /remove-background HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                       "Content-Type: image/png\r\nContent-Encoding: identity\r\n"
                                       "Content-Length: " + std::to_string(png.size()) + "\r\n\r\n" + png);
  EXPECT_EQ(a.status, 200) << a.head << a.body.substr(0, 200);
}

// A body on any route but the upload was read (and, chunked, with no limit at all: a million empty
// multipart parts to POST /warmup cost +348 MB past the 32 MiB body limit).
TEST_F(RequestScreen, BodiesAreRefusedOnRoutesThatTakeNone) {
  struct Case {
    std::string method, path, framing;
  };
  for (const Case& c : {Case{"POST", "/warmup", "Content-Length: 1073741824"},
                        Case{"POST", "/warmup", "Transfer-Encoding: chunked"},
                        Case{"GET", "/health", "Content-Length: 5"},
                        Case{"POST", "/no-such-route", "Content-Length: 1073741824"},
                        Case{"PUT", "/remove-background/x", "Transfer-Encoding: chunked"},
                        Case{"POST", "/", "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked"}}) {
    SCOPED_TRACE(c.method + " " + c.path + " " + c.framing);
    const RawAnswer a = exchange(port(), c.method + " " + c.path + " HTTP/1.1\r\nHost: x\r\n" + c.framing + "\r\n\r\n");
    EXPECT_EQ(a.status, 413) << a.head;
    EXPECT_EQ(error_type(a), "body_not_allowed") << a.body;
    EXPECT_NE(a.head.find("Connection: close"), std::string::npos) << a.head;
  }
  // Content-Length: 0 is no body: POST /warmup as curl -X POST sends it still works.
  const RawAnswer empty = exchange(port(), "POST /warmup HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                           "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(empty.status, 200) << empty.head << empty.body;
}

// A client that asks first is told at once, and never sends the body.
TEST_F(RequestScreen, ExpectContinueGetsTheRefusalInsteadOf100) {
  const RawAnswer a = exchange(port(), "POST /warmup HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                                       "Expect: 100-continue\r\n\r\n");
  EXPECT_EQ(a.status, 413) << a.head;
  EXPECT_EQ(error_type(a), "body_not_allowed");
}

TEST_F(RequestScreen, MoreThanAFewDozenHeadersGet431) {
  std::string at_limit = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (std::size_t i = 2; i < kMaxRequestHeaders; ++i) at_limit += "X-H" + std::to_string(i) + ": v\r\n";
  const RawAnswer ok = exchange(port(), at_limit + "\r\n");
  EXPECT_EQ(ok.status, 200) << ok.head;
  const RawAnswer over = exchange(port(), at_limit + "X-One-Too-Many: v\r\n\r\n");
  EXPECT_EQ(over.status, 431) << over.head;
  EXPECT_EQ(error_type(over), "too_many_headers") << over.body;
  // Repeats of one name count one by one.
  std::string repeated = "POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n";
  for (int i = 0; i < 1000; ++i) repeated += "Cookie: a=b\r\n";
  EXPECT_EQ(exchange(port(), repeated + "\r\n").status, 431);
}

// The header volume: 20,000 lines of 8 KB (160 MB) were read and held before any hook could count
// them. The connection's stream now stops reading a request's head at kMaxHeaderBytes: the flood
// is answered 431 without the rest being read into memory (the drain at close reads and drops at
// most 1 MiB, never keeps it).
TEST_F(RequestScreen, AHeaderFloodIsCutAtTheByteLimit) {
  const std::string line = "X-Flood: " + std::string(8000, 'a') + "\r\n";
  std::string flood = "GET /health/live HTTP/1.1\r\nHost: x\r\n";
  while (flood.size() < 4 * kMaxHeaderBytes) flood += line;  // a few lines: under the line count
  const RawAnswer cut = exchange(port(), flood + "\r\n");
  EXPECT_EQ(cut.status, 431) << cut.head;
  EXPECT_EQ(error_type(cut), "too_many_headers") << cut.body;
  EXPECT_NE(cut.body.find(std::to_string(kMaxHeaderBytes) + " bytes"), std::string::npos) << cut.body;
  // A head just under the limit is read whole (and answered).
  std::string fits = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  const std::string big = "X-Big: " + std::string(7000, 'b') + "\r\n";  // under the library's 8 KiB line
  while (fits.size() + big.size() + 2 < kMaxHeaderBytes) fits += big;
  fits += "\r\n";
  EXPECT_EQ(exchange(port(), fits).status, 200);
}

// A chunk-size line with a 256 MiB extension cost +480 MiB of peak RSS: the library grows its line
// buffer until the line ends and counts only chunk data against the body limit. What is read for
// a body, framing included, is now bounded (max_body_wire_bytes): 413 body_too_large.
TEST(RequestScreenBody, AChunkExtensionFloodIsCutAtTheBodyLimit) {
  config::Settings small = cutout::testing::test_settings();
  small.max_body_bytes = 64 * 1024;
  cutout::testing::InProcessServer server(small);
  server.load();
  const std::string head = "POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  const std::string flood = head + "1;ext=" + std::string(4 * max_body_wire_bytes(small.max_body_bytes), 'e');
  const RawAnswer cut = exchange(server.port(), flood);
  EXPECT_EQ(cut.status, 413) << cut.head;
  EXPECT_EQ(error_type(cut), "body_too_large") << cut.body;
  EXPECT_NE(cut.body.find(std::to_string(small.max_body_bytes) + " bytes"), std::string::npos) << cut.body;
  // Ordinary chunked bodies under the limit still arrive: a real PNG in 1 KiB chunks.
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(40, 30), ".png");
  std::string chunked = head;
  for (std::size_t at = 0; at < png.size(); at += 1024) {
    const std::string piece = png.substr(at, 1024);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  EXPECT_EQ(exchange(server.port(), chunked).status, 200);
}

// Range is ignored (RFC 9110 14.2): ~2,700 copies of "0-" turned a 481 KB answer into 1.56 GB.
TEST_F(RequestScreen, RangeIsIgnoredAndTheWholeAnswerSentOnce) {
  std::string ranges = "bytes=0-";
  for (int i = 0; i < 1000; ++i) ranges += ",0-";
  for (const std::string path : {"/health/live", "/openapi.json", "/"}) {
    SCOPED_TRACE(path);
    httplib::Client plain("127.0.0.1", port());
    const auto whole = plain.Get(path.c_str());
    ASSERT_TRUE(whole);
    const RawAnswer a = exchange(port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: " +
                                             ranges + "\r\n\r\n");
    EXPECT_EQ(a.status, 200) << a.head;
    EXPECT_EQ(a.head.find("multipart/byteranges"), std::string::npos) << a.head;
    EXPECT_NE(a.head.find("Accept-Ranges: none"), std::string::npos) << a.head;
    EXPECT_EQ(a.body.size(), whole->body.size());
  }
  // One range is ignored too: the answer is the whole, not a 206 slice.
  const std::string png = cutout::testing::encode_as(cutout::testing::make_picture(16, 16), ".png");
  const RawAnswer upload = exchange(port(), "POST /remove-background HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                            "Range: bytes=0-9\r\nContent-Type: image/png\r\nContent-Length: " +
                                                std::to_string(png.size()) + "\r\n\r\n" + png);
  EXPECT_EQ(upload.status, 200) << upload.head;
  EXPECT_GT(upload.body.size(), 10u);
}

}  // namespace
}  // namespace cutout::http
