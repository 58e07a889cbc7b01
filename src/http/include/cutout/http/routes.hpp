#pragma once
// The endpoints: /health, /health/live, /warmup, /remove-background, and the demo page at /.

#include <cstddef>
#include <memory>

#include "cutout/http/error_response.hpp"
#include "cutout/http/server.hpp"

namespace httplib {
class Server;
}

namespace cutout::http {

// max_body_bytes bounds what /remove-background reads of a body of unannounced length (chunked).
// `context` must outlive `server`.
void register_routes(httplib::Server& server, const AppContext& context,
                     std::shared_ptr<const StatusPolicy> policy, std::size_t max_body_bytes);

}  // namespace cutout::http
