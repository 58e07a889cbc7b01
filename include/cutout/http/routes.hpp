#pragma once
// The endpoints: /health, /health/live, /warmup, /remove-background.

#include <cstddef>

#include "cutout/http/cors.hpp"
#include "cutout/http/server.hpp"

namespace httplib {
class Server;
}

namespace cutout::http {

// max_body_bytes bounds what /remove-background reads of a body of unannounced length (chunked).
void register_routes(httplib::Server& server, const AppContext& context, std::size_t max_body_bytes);

}  // namespace cutout::http
