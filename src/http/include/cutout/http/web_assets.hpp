#pragma once
// The demo page's files, compiled into the binary (generated from web/ at build time by
// src/http/embed_web_assets.cmake): no file is read while answering requests.

#include <string_view>
#include <vector>

namespace cutout::http {

struct WebAsset {
  std::string_view path;          // "/" for index.html, else "/<file name>"
  std::string_view content_type;
  std::string_view etag;          // quoted, from the file's SHA-256
  std::string_view body;
};

const std::vector<WebAsset>& web_assets();

}  // namespace cutout::http
