// The embedded demo page: served from memory with its type, cache validators and page policy.

#include "cutout/http/web_page.hpp"

#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "cutout/http/web_assets.hpp"

namespace cutout::http {
namespace {

class PageServer {
 public:
  PageServer() {
    register_web_page(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~PageServer() {
    server_.stop();
    thread_.join();
  }
  httplib::Client client() const { return httplib::Client("127.0.0.1", port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(WebPage, EveryFileOfWebIsEmbeddedWithItsType) {
  bool html = false, css = false, js = false;
  for (const WebAsset& a : web_assets()) {
    EXPECT_FALSE(a.body.empty()) << a.path;
    EXPECT_EQ(a.etag.front(), '"') << a.path;
    html |= a.path == "/" && a.content_type == "text/html; charset=utf-8";
    css |= a.path == "/app.css" && a.content_type == "text/css; charset=utf-8";
    js |= a.path == "/app.js" && a.content_type == "text/javascript; charset=utf-8";
  }
  EXPECT_TRUE(html && css && js);
}

TEST(WebPage, RootIsTheHtmlPageWithCacheValidatorsAndAPolicy) {
  PageServer s;
  auto res = s.client().Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-cache");
  EXPECT_FALSE(res->get_header_value("ETag").empty());
  EXPECT_NE(res->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_NE(res->body.find("<script src=\"app.js\""), std::string::npos);
  EXPECT_NE(res->body.find("href=\"app.css\""), std::string::npos);
}

TEST(WebPage, ScriptAndStylesheetAreServedAndRevalidateTo304) {
  PageServer s;
  for (const char* path : {"/app.js", "/app.css"}) {
    auto res = s.client().Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
    const std::string etag = res->get_header_value("ETag");
    auto again = s.client().Get(path, {{"If-None-Match", etag}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304) << path;
    EXPECT_TRUE(again->body.empty());
    auto changed = s.client().Get(path, {{"If-None-Match", "\"something-else\""}});
    ASSERT_TRUE(changed);
    EXPECT_EQ(changed->status, 200) << path;
  }
}

TEST(WebPage, OnlyTheEmbeddedPathsMatchExactly) {
  PageServer s;
  for (const char* path : {"/appXjs", "/app.js.map", "/index.html", "/web/app.js", "/../app.js"}) {
    auto res = s.client().Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
}

}  // namespace
}  // namespace cutout::http
