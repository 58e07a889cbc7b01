// /remove-background's uploads as real clients send them: the multipart bodies of browsers, curl,
// Python, Node, .NET, Java, Go and OkHttp (tests/http/clients/, see its README), the shared cases
// that once failed (C13: .NET's quoted boundary and unquoted parameters; C23: no CRLF after the
// closing delimiter), the raw-body Content-Type rule, and malformed multipart told apart from a
// missing part.

#include <fstream>
#include <sstream>

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

const std::string kClients = CUTOUT_CLIENT_BODIES_DIR;

class ReadyServer : public cutout::testing::InProcessServer {
 public:
  explicit ReadyServer(const config::Settings& o = cutout::testing::test_settings()) : InProcessServer(o) { load(); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(60, 0);
    return c;
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

cv::Mat decode(const std::string& body) {
  if (body.empty()) return {};
  return cv::imdecode(cv::Mat(1, static_cast<int>(body.size()), CV_8UC1, const_cast<char*>(body.data())),
                      cv::IMREAD_UNCHANGED);
}

void expect_cut_out(const httplib::Result& res, int width, int height, int channels = 4,
                    const std::string& type = "image/png") {
  ASSERT_TRUE(res) << "no response";
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), type);
  const cv::Mat out = decode(res->body);
  EXPECT_EQ(out.cols, width);
  EXPECT_EQ(out.rows, height);
  EXPECT_EQ(out.channels(), channels);
}

// The error's type, after checking status and JSON shape; the message goes to `message`.
std::string error_type(const httplib::Result& res, int status, std::string* message = nullptr) {
  if (!res) return "no response";
  EXPECT_EQ(res->status, status) << res->body;
  const json body = json::parse(res->body, nullptr, false);
  if (!body.is_object() || !body["error"].is_object()) return "not a JSON error: " + res->body;
  EXPECT_EQ(body["error"]["code"], status);
  if (message != nullptr) *message = body["error"]["message"].get<std::string>();
  return body["error"]["type"].get<std::string>();
}

std::string part(const std::string& boundary, const std::string& headers, const std::string& content) {
  return "--" + boundary + "\r\n" + headers + "\r\n\r\n" + content + "\r\n";
}

std::string png(int w = 40, int h = 24) {
  return cutout::testing::encode_as(cutout::testing::make_picture(w, h), ".png");
}

TEST(Uploads, EveryClientsMultipartBodyGetsTheCutOut) {
  ReadyServer server;
  const json manifest = json::parse(read_file(kClients + "/clients.json"));
  ASSERT_GE(manifest.size(), 12u);
  for (const json& entry : manifest) {
    SCOPED_TRACE(entry["file"].get<std::string>() + " (" + entry["how"].get<std::string>() + ")");
    const std::string body = read_file(kClients + "/" + entry["file"].get<std::string>());
    expect_cut_out(server.client().Post("/remove-background", body, entry["content_type"].get<std::string>().c_str()),
                   entry["width"], entry["height"], entry["channels"], entry["result_content_type"]);
  }
}

// The two shared cases, with the Content-Type each was sent with (cases/README.md).
TEST(Uploads, DotNetQuotedBoundaryAndUnquotedParametersC13) {
  ReadyServer server;
  expect_cut_out(server.client().Post(
                     "/remove-background", read_file(kClients + "/C13_dotnet_body.bin"),
                     "multipart/form-data; boundary=\"182e92b9-ebbb-4522-9205-a05c9e35191f\""),
                 96, 160);
}

TEST(Uploads, NoCrlfAfterTheClosingDelimiterC23) {
  ReadyServer server;
  const std::string body = read_file(kClients + "/C23_no_final_crlf_body.bin");
  ASSERT_EQ(body.substr(body.size() - 2), "--");
  expect_cut_out(server.client().Post("/remove-background", body,
                                      "multipart/form-data; boundary=182e92b9-ebbb-4522-9205-a05c9e35191f"),
                 96, 160);
}

TEST(Uploads, MultipartSentChunkedAndWithAnUpperCaseMediaType) {
  ReadyServer server;
  const std::string b = "chunkedBoundary";
  const std::string body = "preamble\r\n" +
                           part(b, "Content-Disposition: form-data; name=image; filename=a.png", png()) +
                           "--" + b + "--";
  // Chunked: no Content-Length, the body arrives in 100-byte pieces through the streaming parser.
  auto res = server.client().Post(
      "/remove-background",
      [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset < body.size()) {
          sink.write(body.data() + offset, std::min<std::size_t>(100, body.size() - offset));
        } else {
          sink.done();
        }
        return true;
      },
      ("multipart/form-data; boundary=" + b).c_str());
  expect_cut_out(res, 40, 24);
  // Media types are case-insensitive (RFC 9110); cpp-httplib's own check was not.
  expect_cut_out(server.client().Post("/remove-background", body, ("Multipart/Form-Data; Boundary=" + b).c_str()),
                 40, 24);
}

// Raw bodies: a missing or generic declared type is judged by the bytes; other explicit types 415.
TEST(Uploads, RawBodyContentTypeRule) {
  ReadyServer server;
  const std::string image = png();
  for (const char* generic : {"", "application/octet-stream", "application/x-www-form-urlencoded",
                              "text/plain;charset=UTF-8", "image/jpeg", "IMAGE/PNG"}) {
    SCOPED_TRACE(generic);
    expect_cut_out(server.client().Post("/remove-background", image, generic), 40, 24);
  }
  // Judged by the bytes: text is still not an image.
  EXPECT_EQ(error_type(server.client().Post("/remove-background", "hello", "text/plain"), 415),
            "unsupported_media_type");
  EXPECT_EQ(error_type(server.client().Post("/remove-background", "image=abc", "application/x-www-form-urlencoded"),
                       415),
            "unsupported_media_type");
  for (const char* explicit_type : {"application/json", "multipart/mixed; boundary=x", "text/html", "video/mp4"}) {
    SCOPED_TRACE(explicit_type);
    std::string message;
    EXPECT_EQ(error_type(server.client().Post("/remove-background", image, explicit_type), 415, &message),
              "unsupported_media_type");
    EXPECT_NE(message.find(std::string("got '") + explicit_type + "'"), std::string::npos) << message;
  }
  expect_cut_out(server.client().Post("/remove-background", image, "image/png"), 40, 24);  // still serving
}

TEST(Uploads, MalformedMultipartAndAMissingPartAreDifferentErrors) {
  ReadyServer server;
  auto c = server.client();
  const std::string b = "bOuNdArY";
  const std::string type = "multipart/form-data; boundary=" + b;
  const std::string image_part = part(b, "Content-Disposition: form-data; name=image; filename=a.png", png());
  std::string message;

  // Malformed: invalid_multipart, saying what is wrong.
  EXPECT_EQ(error_type(c.Post("/remove-background", image_part, type.c_str()), 400, &message), "invalid_multipart");
  EXPECT_NE(message.find("without the closing delimiter '--bOuNdArY--'"), std::string::npos) << message;
  EXPECT_EQ(error_type(c.Post("/remove-background", image_part + "--" + b + "--", "multipart/form-data"), 400,
                       &message),
            "invalid_multipart");
  EXPECT_NE(message.find("no valid boundary"), std::string::npos) << message;
  EXPECT_EQ(error_type(c.Post("/remove-background", image_part + "--" + b + "--", "multipart/form-data; boundary=other"),
                       400, &message),
            "invalid_multipart");
  EXPECT_NE(message.find("no boundary line '--other'"), std::string::npos) << message;
  EXPECT_EQ(error_type(c.Post("/remove-background", part(b, "Content-Type: image/png", png()) + "--" + b + "--",
                              type.c_str()),
                       400, &message),
            "invalid_multipart");
  EXPECT_NE(message.find("part 1 has no Content-Disposition"), std::string::npos) << message;

  // Well-formed but without the image: missing_image, naming the parts it did have.
  const std::string other = part(b, "Content-Disposition: form-data; name=imagefile; filename=a.png", png()) +
                            part(b, "Content-Disposition: form-data; name=format", "png") + "--" + b + "--";
  EXPECT_EQ(error_type(c.Post("/remove-background", other, type.c_str()), 400, &message), "unknown_parameter");
  const std::string fields_only = part(b, "Content-Disposition: form-data; name=photo", "x") +
                                  part(b, "Content-Disposition: form-data; name=format", "png") + "--" + b + "--";
  EXPECT_EQ(error_type(c.Post("/remove-background", fields_only, type.c_str()), 400, &message), "missing_image");
  EXPECT_NE(message.find("no part named 'image' (or 'file'); its parts: 'photo', 'format'"), std::string::npos)
      << message;
  EXPECT_EQ(error_type(c.Post("/remove-background", "--" + b + "--", type.c_str()), 400, &message), "missing_image");
  EXPECT_NE(message.find("it has no parts"), std::string::npos) << message;
  EXPECT_EQ(error_type(c.Post("/remove-background",
                              part(b, "Content-Disposition: form-data; name=image; filename=a.png", "") + "--" + b + "--",
                              type.c_str()),
                       400, &message),
            "missing_image");
  EXPECT_NE(message.find("part 'image' is empty"), std::string::npos) << message;
}

TEST(Uploads, MultipartLimitsCountEveryPartAndHeaderByte) {
  ReadyServer server;
  auto c = server.client();
  const std::string b = "limitsBoundary";
  const std::string type = "multipart/form-data; boundary=" + b;
  std::string many;
  for (int i = 0; i < 1000; ++i) many += part(b, "Content-Disposition: form-data; name=x", "");
  std::string message;
  EXPECT_EQ(error_type(c.Post("/remove-background", many + "--" + b + "--", type.c_str()), 400, &message),
            "invalid_multipart");
  EXPECT_NE(message.find("more than 64 parts"), std::string::npos) << message;
  const std::string long_header =
      part(b, "Content-Disposition: form-data; name=image; filename=\"" + std::string(9000, 'a') + "\"", png());
  EXPECT_EQ(error_type(c.Post("/remove-background", long_header + "--" + b + "--", type.c_str()), 400, &message),
            "invalid_multipart");
  EXPECT_NE(message.find("header block of part 1 is over 8192 bytes"), std::string::npos) << message;
  // The body limit holds for multipart as for raw bodies (here announced: refused unread).
  config::Settings small = cutout::testing::test_settings();
  small.max_body_bytes = 4096;
  ReadyServer limited(small);
  EXPECT_EQ(error_type(limited.client().Post("/remove-background", many + "--" + b + "--", type.c_str()), 413),
            "body_too_large");
  expect_cut_out(c.Post("/remove-background", png(), "image/png"), 40, 24);
}

}  // namespace
}  // namespace cutout::http
