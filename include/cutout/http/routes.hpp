#pragma once
// The endpoints: /health, /health/live, /warmup, /remove-background.

#include <cstddef>

#include "cutout/http/cors.hpp"
#include "cutout/http/server.hpp"

namespace httplib {
class Server;
}

namespace cutout::http {

void register_routes(httplib::Server& server, const AppContext& context);

}  // namespace cutout::http
