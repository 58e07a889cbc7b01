#include "cutout/http/web_page.hpp"

#include <regex>
#include <string>

#include <httplib.h>

#include "cutout/http/web_assets.hpp"

namespace cutout::http {
namespace {

// The page talks only to this server; images it shows are blob: URLs made from the answers.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string exact_path_pattern(std::string_view path) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(std::string(path), special, R"(\$&)");
}

bool etag_matches(const httplib::Request& req, std::string_view etag) {
  const std::string header = req.get_header_value("If-None-Match");
  return !header.empty() && (header == "*" || header.find(etag) != std::string::npos);
}

}  // namespace

void register_web_page(httplib::Server& server) {
  for (const WebAsset& asset : web_assets()) {
    server.Get(exact_path_pattern(asset.path), [&asset](const httplib::Request& req, httplib::Response& res) {
      // Revalidate every time: a new binary serves a new page at once, an unchanged one costs a 304.
      res.set_header("Cache-Control", "no-cache");
      res.set_header("ETag", std::string(asset.etag));
      res.set_header("X-Content-Type-Options", "nosniff");
      if (asset.content_type.rfind("text/html", 0) == 0) {
        res.set_header("Content-Security-Policy", kPagePolicy);
        res.set_header("Referrer-Policy", "no-referrer");
      }
      if (etag_matches(req, asset.etag)) {
        res.status = 304;
        return;
      }
      res.status = 200;
      res.set_content(asset.body.data(), asset.body.size(), std::string(asset.content_type));
    });
  }
}

}  // namespace cutout::http
