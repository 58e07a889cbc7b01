// The API description (web/openapi.json, served at /openapi.json) against the server itself:
// every documented parameter is accepted, undocumented ones are refused, and every documented
// (operation, status, error type) is produced by a request here, except the few listed in
// kNotProbedHere with where they are covered. The document's validity against the OpenAPI 3.1
// schema is the openapi_validate test (tests/openapi/).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <future>
#include <map>
#include <set>
#include <tuple>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/service/memory_estimate.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;
using cutout::testing::InProcessServer;
using cutout::testing::test_settings;

// (path, method, status, error type); "" for an answer that is not an error object.
using Outcome = std::tuple<std::string, std::string, int, std::string>;

std::string describe(const Outcome& o) {
  return std::get<1>(o) + " " + std::get<0>(o) + " " + std::to_string(std::get<2>(o)) + " " + std::get<3>(o);
}

// 500s that no request can provoke on a healthy server; each is covered elsewhere.
const std::map<std::string, std::string> kNotProbedHere = {
    {"internal", "any exception that is not a cutout::Error: StatusPolicy unit tests (error_response_test)"},
    {"out_of_memory", "std::bad_alloc: StatusPolicy unit tests (error_response_test)"},
    {"image_processing_failed", "a cv::Exception from OpenCV during compose/crop/resize: BackgroundRemover maps it (remove_background.cpp); no input provokes one"},
    {"encode_failed", "OpenCV's encoder returning false: encode_image (encode.cpp); no valid picture provokes one"},
};

// A request written by hand (for what httplib's client will not send, such as a bad
// Content-Length), answered as an httplib::Result: status and body.
httplib::Result raw_request(const InProcessServer& s, const std::string& request) {
  auto response = std::make_unique<httplib::Response>();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(s.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) {
    return httplib::Result(nullptr, httplib::Error::Read);
  }
  response->status = std::stoi(answer.substr(9, 3));
  response->body = answer.substr(head_end + 4);
  return httplib::Result(std::move(response), httplib::Error::Success);
}

httplib::Client client(const InProcessServer& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);
  return c;
}

json fetch_document(const InProcessServer& s) {
  auto res = client(s).Get("/openapi.json");
  EXPECT_TRUE(res);
  if (!res) return json();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  return json::parse(res->body);
}

// The error types a response schema allows (error.type enums, through allOf/oneOf), and whether
// it also allows an answer that is not an error object (a oneOf branch without one).
void collect_types(const json& schema, std::set<std::string>& types, bool& plain) {
  if (!schema.is_object()) return;
  if (schema.contains("properties") && schema["properties"].contains("error")) {
    const json& type = schema["properties"]["error"]["properties"]["type"];
    if (type.contains("enum")) {
      for (const auto& t : type["enum"]) types.insert(t.get<std::string>());
    }
  }
  if (schema.contains("oneOf")) {
    for (const auto& branch : schema["oneOf"]) {
      std::set<std::string> branch_types;
      bool ignored = false;
      collect_types(branch, branch_types, ignored);
      if (branch_types.empty()) plain = true;
      types.insert(branch_types.begin(), branch_types.end());
    }
  }
}

std::set<Outcome> documented_outcomes(const json& doc) {
  std::set<Outcome> out;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      for (const auto& [status, response] : operation["responses"].items()) {
        std::set<std::string> types;
        bool plain = false;
        if (response.contains("content")) {
          for (const auto& [media, content] : response["content"].items()) {
            collect_types(content["schema"], types, plain);
          }
        }
        if (types.empty()) plain = true;
        if (plain) out.insert({path, method, std::stoi(status), ""});
        for (const auto& t : types) out.insert({path, method, std::stoi(status), t});
      }
    }
  }
  return out;
}

std::string picture() { return cutout::testing::encode_as(cutout::testing::make_picture(40, 30), ".png"); }

// A value for each documented value of a query parameter: its enum, else its example.
std::vector<std::string> documented_values(const json& parameter) {
  std::vector<std::string> values;
  const json& schema = parameter["schema"];
  if (schema.contains("enum")) {
    for (const auto& v : schema["enum"]) values.push_back(v.get<std::string>());
  }
  if (parameter.contains("example")) {
    const json& e = parameter["example"];
    values.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  }
  return values;
}

// Parameters that need a companion to be valid alone: crop_margin needs crop=true, and JPEG a
// result without alpha.
std::string companions(const std::string& name, const std::string& value) {
  if (name == "crop_margin") return "&crop=true";
  if (value == "jpeg" || value == "jpg") return "&bg_color=ffffff";
  return "";
}

const json& operation_parameters(const json& doc, const char* path, const char* method) {
  return doc["paths"][path][method]["parameters"];
}

TEST(OpenApi, IsServedAsOpenApi31) {
  InProcessServer s;
  const json doc = fetch_document(s);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_TRUE(doc["paths"].contains("/remove-background"));
}

TEST(OpenApi, EveryDocumentedParameterValueIsAccepted) {
  InProcessServer s;
  s.load();
  const json doc = fetch_document(s);
  auto c = client(s);
  int tried = 0;
  for (const auto& p : operation_parameters(doc, "/remove-background", "post")) {
    if (p["in"] != "query") continue;
    const std::string name = p["name"];
    for (const std::string& value : documented_values(p)) {
      const std::string query = "?" + name + "=" + httplib::detail::encode_query_param(value) + companions(name, value);
      auto res = c.Post(("/remove-background" + query).c_str(), picture(), "image/png");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200) << query << ": " << res->body;
      // The same as a multipart form field (the request body's schema lists the same names).
      ASSERT_TRUE(doc["paths"]["/remove-background"]["post"]["requestBody"]["content"]["multipart/form-data"]
                      ["schema"]["properties"].contains(name)) << name;
      httplib::MultipartFormDataItems items = {{"image", picture(), "p.png", "image/png"}, {name, value, "", ""}};
      if (name == "crop_margin") items.push_back({"crop", "true", "", ""});
      if (value == "jpeg" || value == "jpg") items.push_back({"bg_color", "ffffff", "", ""});
      res = c.Post("/remove-background", items);
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200) << name << "=" << value << " as a form field: " << res->body;
      ++tried;
    }
  }
  EXPECT_GE(tried, 12);
  for (const char* method : {"get", "post"}) {
    for (const auto& p : operation_parameters(doc, "/warmup", method)) {
      for (const std::string& value : documented_values(p)) {
        const std::string path = "/warmup?" + p["name"].get<std::string>() + "=" + value;
        auto res = std::string(method) == "get" ? c.Get(path.c_str()) : c.Post(path.c_str());
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 200) << method << " " << path;
      }
    }
  }
}

TEST(OpenApi, AnUndocumentedParameterIsRefused) {
  InProcessServer s;
  s.load();
  const json doc = fetch_document(s);
  auto c = client(s);
  for (const std::string name : {"undocumented", "size", "crop_margins", "type"}) {
    for (const char* path : {"/remove-background", "/warmup"}) {
      bool documented = false;
      for (const char* method : {"get", "post"}) {
        if (!doc["paths"][path].contains(method)) continue;
        for (const auto& p : operation_parameters(doc, path, method)) documented |= p["name"] == name;
      }
      ASSERT_FALSE(documented) << name;
      // /warmup takes no body (a body there is refused unread: 413 body_not_allowed).
      const std::string url = std::string(path) + "?" + name + "=1";
      auto res = std::string(path) == "/warmup" ? c.Post(url.c_str()) : c.Post(url.c_str(), picture(), "image/png");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 400) << path << "?" << name;
      EXPECT_EQ(json::parse(res->body)["error"]["type"], "unknown_parameter");
    }
    httplib::MultipartFormDataItems items = {{"image", picture(), "p.png", "image/png"}, {name, "1", "", ""}};
    auto res = c.Post("/remove-background", items);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << name;
  }
}

struct Probe {
  Outcome outcome;
  std::function<httplib::Result()> request;
};

TEST(OpenApi, EveryDocumentedStatusAndErrorTypeIsReachable) {
  config::Settings limits = test_settings();
  limits.max_body_bytes = 64 * 1024;
  limits.max_pixels = 100'000;
  InProcessServer ready(limits);
  ready.load();
  InProcessServer loading;  // never loaded: stays "starting"
  InProcessServer failed(test_settings("not_torchscript.pt"));
  failed.load();
  config::Settings no_warmup = test_settings("fails_in_forward.pt");
  no_warmup.warmup_runs = 0;  // else the warm-up pass fails the start (model_failed)
  InProcessServer broken(no_warmup);
  broken.load();
  config::Settings with_key = test_settings();
  with_key.api_key = "k3y";
  InProcessServer keyed(with_key);
  keyed.load();
  config::Settings one_slot = test_settings("slow.pt");
  one_slot.queue_depth = 1;
  InProcessServer busy(one_slot);
  config::Settings short_wait = test_settings("slow.pt");
  short_wait.max_queue_wait_ms = 1;
  InProcessServer impatient(short_wait);
  config::Settings tight = test_settings("slow.pt");
  // One request's estimated peak and a half: one fits, two do not.
  const auto one = service::estimate_peak_bytes(*service::request_shape(picture(), tight.max_pixels, 32, 32), {});
  tight.memory_budget_bytes = one + one / 2;
  InProcessServer tight_memory(tight);
  busy.load();
  impatient.load();
  tight_memory.load();
  config::Settings hurried = test_settings();
  hurried.header_timeout_s = 1;  // a head that never ends gets its 408 after a second
  InProcessServer short_headers(hurried);
  short_headers.load();
  config::Settings one_ms = test_settings();
  one_ms.decode_timeout_ms = 1;
  one_ms.max_body_bytes = 32u << 20;  // the 12 MP JPEG below is 2.8 MB
  one_ms.max_pixels = 50'000'000;
  InProcessServer timed(one_ms);
  timed.load();
  const std::string large_jpeg = cutout::testing::encode_as(cutout::testing::make_picture(4000, 3000), ".jpg");
  const json doc = fetch_document(ready);
  const std::string image = picture();
  const std::string long_query = "?format=" + std::string(9000, 'a');
  auto c = client(ready);
  const auto post_image = [&](InProcessServer& s, const std::string& query = "", httplib::Headers h = {}) {
    return [&s, query, h, &image] { return client(s).Post(("/remove-background" + query).c_str(), h, image, "image/png"); };
  };
  const auto get = [](InProcessServer& s, std::string path, httplib::Headers h = {}) {
    return [&s, path, h] { return client(s).Get(path.c_str(), h); };
  };
  const auto post = [](InProcessServer& s, std::string path) {
    return [&s, path] { return client(s).Post(path.c_str()); };
  };
  const auto etag_of = [&](const std::string& path) { return c.Get(path.c_str())->get_header_value("ETag"); };
  const std::string flat = cutout::testing::encode_as(cv::Mat(300, 400, CV_8UC3, cv::Scalar(9, 9, 9)), ".png");

  std::vector<Probe> probes = {
      {{"/health", "get", 200, ""}, get(ready, "/health")},
      {{"/health", "get", 503, ""}, get(loading, "/health")},
      {{"/health", "get", 503, "model_failed"}, get(failed, "/health")},
      {{"/health/live", "get", 200, ""}, get(loading, "/health/live")},
      {{"/remove-background", "post", 200, ""}, post_image(ready)},
      {{"/remove-background", "post", 400, "invalid_parameter"}, post_image(ready, "?max_side=0")},
      {{"/remove-background", "post", 400, "unknown_parameter"}, post_image(ready, "?size=1")},
      {{"/remove-background", "post", 400, "invalid_image"},
       [&] { return c.Post("/remove-background", std::string("\x89PNG\r\n\x1a\n garbage", 17), "image/png"); }},
      {{"/remove-background", "post", 400, "decode_timeout"},
       [&] { return client(timed).Post("/remove-background", large_jpeg, "image/jpeg"); }},
      {{"/remove-background", "post", 400, "missing_image"}, [&] { return c.Post("/remove-background", "", "image/png"); }},
      {{"/remove-background", "post", 400, "invalid_multipart"},
       [&] { return c.Post("/remove-background", "garbage", "multipart/form-data; boundary=xyz"); }},
      {{"/remove-background", "post", 400, "bad_request"},
       [&] { return raw_request(ready, "POST /remove-background HTTP/1.1\r\nHost: t\r\nContent-Length: 12x\r\n\r\n"); }},
      {{"/remove-background", "post", 406, "not_acceptable"}, post_image(ready, "", {{"Accept", "image/jpeg"}})},
      {{"/remove-background", "post", 408, "request_timeout"},
       [&] { return raw_request(short_headers, "POST /remove-background HTTP/1.1\r\nHost: t\r\n"); }},
      {{"/remove-background", "post", 413, "body_too_large"},
       [&] { return c.Post("/remove-background", std::string(100 * 1024, 'x'), "image/png"); }},
      {{"/remove-background", "post", 413, "image_too_large"}, [&] { return c.Post("/remove-background", flat, "image/png"); }},
      {{"/remove-background", "post", 414, "uri_too_long"}, post_image(ready, long_query)},
      {{"/remove-background", "post", 415, "unsupported_media_type"}, [&] { return c.Post("/remove-background", "hi", "text/plain"); }},
      {{"/remove-background", "post", 500, "inference_failed"}, post_image(broken)},
      {{"/remove-background", "post", 503, "not_ready"}, post_image(loading)},
      {{"/remove-background", "post", 503, "model_failed"}, post_image(failed)},
      {{"/remove-background", "options", 204, ""},
       [&] { return c.Options("/remove-background", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}}); }},
      {{"/remove-background", "options", 403, "cors_origin_not_allowed"},
       [&] { return c.Options("/remove-background", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}}); }},
  };
  for (const char* method : {"get", "post"}) {
    const bool is_get = std::string(method) == "get";
    const auto warm = [&](InProcessServer& s, std::string path) -> std::function<httplib::Result()> {
      if (is_get) return get(s, path);
      return post(s, path);
    };
    probes.push_back({{"/warmup", method, 200, ""}, warm(ready, "/warmup")});
    probes.push_back({{"/warmup", method, 400, "invalid_parameter"}, warm(ready, "/warmup?timeout_ms=soon")});
    probes.push_back({{"/warmup", method, 400, "unknown_parameter"}, warm(ready, "/warmup?wait=1")});
    probes.push_back({{"/warmup", method, 414, "uri_too_long"}, warm(ready, "/warmup" + long_query)});
    probes.push_back({{"/warmup", method, 503, "warmup_timeout"}, warm(loading, "/warmup?timeout_ms=0")});
    probes.push_back({{"/warmup", method, 503, "model_failed"}, warm(failed, "/warmup")});
  }
  for (const char* method : {"get", "post"}) {
    std::function<httplib::Result()> request = get(keyed, "/warmup");
    if (std::string(method) == "post") request = post(keyed, "/warmup");
    probes.push_back({{"/warmup", method, 401, "unauthorized"}, request});
  }
  probes.push_back({{"/remove-background", "post", 401, "unauthorized"}, post_image(keyed)});
  // The request screening (request_screen.hpp): refused before any body byte is read.
  probes.push_back({{"/remove-background", "post", 415, "unsupported_content_encoding"},
                    post_image(ready, "", {{"Content-Encoding", "gzip"}})});
  httplib::Headers many;
  for (int i = 0; i < 70; ++i) many.emplace("X-Header-" + std::to_string(i), "v");
  probes.push_back({{"/remove-background", "post", 431, "too_many_headers"}, post_image(ready, "", many)});
  probes.push_back({{"/warmup", "post", 413, "body_not_allowed"},
                    [&ready] { return client(ready).Post("/warmup", "{}", "application/json"); }});
  for (const char* path : {"/", "/app.js", "/app.css", "/openapi.json"}) {
    probes.push_back({{path, "get", 401, "unauthorized"}, get(keyed, path)});
    probes.push_back({{path, "get", 200, ""}, get(ready, path)});
    probes.push_back({{path, "get", 304, ""}, get(ready, path, {{"If-None-Match", etag_of(path)}})});
  }

  std::set<Outcome> reached;
  std::set<std::string> types_reached;
  for (const Probe& probe : probes) {
    const auto res = probe.request();
    ASSERT_TRUE(res) << describe(probe.outcome);
    const auto& [path, method, status, type] = probe.outcome;
    EXPECT_EQ(res->status, status) << describe(probe.outcome) << ": " << res->body;
    if (!type.empty()) {
      const json body = json::parse(res->body, nullptr, false);
      EXPECT_EQ(body["error"]["type"], type) << describe(probe.outcome) << ": " << res->body;
      EXPECT_EQ(body["error"]["code"], status);
      types_reached.insert(type);
    }
    reached.insert(probe.outcome);
  }
  // queue_full: one slot and six at once on the slow model; at least one is turned away.
  {
    std::vector<std::future<httplib::Result>> pending;
    for (int i = 0; i < 6; ++i) pending.push_back(std::async(std::launch::async, post_image(busy)));
    bool full = false;
    for (auto& p : pending) {
      const auto res = p.get();
      ASSERT_TRUE(res);
      if (res->status == 503 && json::parse(res->body)["error"]["type"] == "queue_full") full = true;
    }
    EXPECT_TRUE(full);
    reached.insert({"/remove-background", "post", 503, "queue_full"});
    types_reached.insert("queue_full");
  }
  // queue_timeout (a wait past 1 ms) and busy (a memory budget for one request): likewise.
  for (auto& [server, type] : {std::pair<InProcessServer*, std::string>{&impatient, "queue_timeout"},
                               {&tight_memory, "busy"}}) {
    std::vector<std::future<httplib::Result>> pending;
    for (int i = 0; i < 6; ++i) pending.push_back(std::async(std::launch::async, post_image(*server)));
    bool seen = false;
    for (auto& p : pending) {
      const auto res = p.get();
      ASSERT_TRUE(res);
      if (res->status == 503 && json::parse(res->body)["error"]["type"] == type) seen = true;
    }
    EXPECT_TRUE(seen) << type;
    reached.insert({"/remove-background", "post", 503, type});
    types_reached.insert(type);
  }
  // An unknown path: the one type outside the operations.
  const auto missing = c.Get("/no-such-endpoint");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["type"], "not_found");
  types_reached.insert("not_found");

  const std::set<Outcome> documented = documented_outcomes(doc);
  for (const Outcome& o : documented) {
    if (reached.count(o)) continue;
    EXPECT_TRUE(kNotProbedHere.count(std::get<3>(o))) << "documented but not reached: " << describe(o);
  }
  for (const Outcome& o : reached) EXPECT_TRUE(documented.count(o)) << "reached but not documented: " << describe(o);
  // Every error type the document names is reached here or listed with where it is covered.
  for (const auto& t : doc["components"]["schemas"]["ErrorType"]["enum"]) {
    const std::string type = t.get<std::string>();
    EXPECT_TRUE(types_reached.count(type) || kNotProbedHere.count(type)) << "error type never reached: " << type;
  }
  for (const auto& [type, where] : kNotProbedHere) {
    EXPECT_TRUE(documented.count({"/remove-background", "post", 500, type})) << type << " (" << where << ")";
  }
}

}  // namespace
}  // namespace cutout::http
