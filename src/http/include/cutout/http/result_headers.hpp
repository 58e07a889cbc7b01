#pragma once
// The headers that describe a /remove-background result, and the list a browser may read.

#include "cutout/http/reply.hpp"
#include "cutout/service/remove_background.hpp"

namespace cutout::http {

// The response headers a cross-origin page may read (Access-Control-Expose-Headers).
constexpr const char* kExposedHeaders =
    "Server-Timing, Retry-After, X-Request-Id, X-Width, X-Height, X-Foreground, X-Foreground-Left, "
    "X-Foreground-Top, X-Foreground-Width, X-Foreground-Height";

// Adds X-Width and X-Height (the output's pixels) and the subject's box in output pixels:
// X-Foreground-Left, -Top, -Width, -Height; or, when no pixel reaches the subject threshold,
// X-Foreground: none and no box.
void add_result_headers(const service::RemoveBackgroundResult& result, Reply& reply);

}  // namespace cutout::http
