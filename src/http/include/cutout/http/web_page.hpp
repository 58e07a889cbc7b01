#pragma once
// Serves the embedded demo page (see web_assets.hpp) at "/" with its scripts and styles.

namespace httplib {
class Server;
}

namespace cutout::http {

void register_web_page(httplib::Server& server);

}  // namespace cutout::http
