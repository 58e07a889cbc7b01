#include "cutout/http/result_headers.hpp"

#include <string>

namespace cutout::http {

void add_result_headers(const service::RemoveBackgroundResult& result, Reply& reply) {
  auto& h = reply.headers;
  h.emplace_back("X-Width", std::to_string(result.width));
  h.emplace_back("X-Height", std::to_string(result.height));
  if (!result.foreground) {
    h.emplace_back("X-Foreground", "none");
    return;
  }
  h.emplace_back("X-Foreground-Left", std::to_string(result.foreground->left));
  h.emplace_back("X-Foreground-Top", std::to_string(result.foreground->top));
  h.emplace_back("X-Foreground-Width", std::to_string(result.foreground->width));
  h.emplace_back("X-Foreground-Height", std::to_string(result.foreground->height));
}

}  // namespace cutout::http
