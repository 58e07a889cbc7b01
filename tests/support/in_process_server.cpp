#include "support/in_process_server.hpp"

#include "support/fixtures.hpp"

namespace cutout::testing {

InProcessServer::InProcessServer(ServerOptions o)
    : loader_(readiness_, service::LoadPlan{fixture_path(o.model), engine::DeviceSetting::Cpu,
                                            engine::PrecisionSetting::Auto, 32, 1}),
      gate_(static_cast<std::size_t>(o.queue_depth)),
      remover_(readiness_, loader_, gate_, imaging::DecodeLimits{o.max_pixels}, imaging::EncodeOptions{}),
      server_(http::AppContext{readiness_, loader_, remover_},
              http::HttpOptions{"127.0.0.1", 0, o.threads, o.max_body_bytes, o.cors, o.read_timeout,
                                o.write_timeout}) {
  port_ = server_.bind();
  server_.start();
}

InProcessServer::~InProcessServer() { server_.stop(); }

}  // namespace cutout::testing
