#pragma once
// Connection handling sized for slow clients, apart from the CPU work: every open connection has a
// thread of its own (started on demand, up to a cap), so a slow or idle client holds only its own
// thread and the probes always find one. Reading a request has TOTAL deadlines (headers, then
// body), not per-read ones, so a client sending a byte at a time cannot keep a thread for ever.
// Shutdown closes idle and half-sent connections at once and answers what was still queued.
//
// cpp-httplib 0.11.4 serves a connection in its private virtual process_and_close_socket(); this
// server overrides it with its own keep-alive loop around the library's (protected)
// process_request(), over a stream of its own that enforces the deadlines.

#include <chrono>
#include <cstddef>
#include <string>
#include <functional>
#include <memory>
#include <optional>

#include <httplib.h>

#include "cutout/http/error_response.hpp"

namespace cutout::http {

// No defaults here: app::App fills these from config::Settings.
struct ConnectionOptions {
  int min_threads;                           // connection threads kept started (--http-threads)
  int max_connections;                       // connections served at once (--max-connections)
  std::chrono::milliseconds idle_timeout;    // waiting for a connection's next (or first) request
  std::chrono::milliseconds header_timeout;  // first byte of the request to the end of its headers
  std::chrono::milliseconds body_timeout;    // end of the headers to the end of the body
};

// Why reading the current request stopped before its end.
enum class ReadCut { None, Deadline, ShuttingDown, HeadersTooLarge, BodyTooLarge };

// Bytes a request line and its headers may take together; past it the reading stops (431), so a
// header flood costs at most this much memory however many lines it has. The library itself
// bounds only each line (8 KiB), not their number.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

// Bytes a request's body may take on the wire, chunked framing included: the body limit plus a
// sixteenth and 64 KiB for chunk-size lines. The library grows its buffer for a chunk-size line
// (with any extension) until the line ends, and counts only chunk data against the body limit:
// a 256 MiB chunk extension cost +480 MiB of peak RSS before this bound (413 body_too_large).
std::size_t max_body_wire_bytes(std::size_t max_body_bytes);

class ConnectionRegistry;

class ConnectionServer : public httplib::Server {
 public:
  explicit ConnectionServer(ConnectionOptions options);
  ~ConnectionServer() override;
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  // The first step of a stop, before httplib::Server::stop(): idle connections and requests still
  // being sent are closed at once; requests that arrive from now on are answered 503
  // shutting_down; requests already being handled finish.
  void begin_stop();

  // Connections open now (for tests and the shutdown log line).
  std::size_t open_connections() const;

 private:
  bool process_and_close_socket(socket_t sock) override;

  ConnectionOptions options_;
  std::unique_ptr<ConnectionRegistry> registry_;
};

// What the hooks and handlers on a connection's thread may ask. Off such a thread (the request
// fuzzer's in-memory server, the metrics listener) these answer "nothing to say".

// The server is stopping: the request is to be answered 503 shutting_down, and the connection closed.
bool connection_stopping();
// The headers are read (the pre-routing hook): the body's deadline starts now.
void connection_headers_read();
// The current request as the connection saw it arrive, for the access line of a request the
// library refused before any hook ran (414, a malformed request line): its method and the start
// of its target (at most kRequestLinePrefixBytes of the line are kept), and when its first byte
// came. nullopt off a connection thread.
constexpr std::size_t kRequestLinePrefixBytes = 256;
struct RequestArrival {
  std::string method;
  std::string target_prefix;  // cut at kRequestLinePrefixBytes of the line
  bool target_cut = false;
  std::chrono::steady_clock::time_point started;
};
std::optional<RequestArrival> connection_request_arrival();
// The connection is to be closed after the current answer; false off a connection thread (the
// caller then has to make the library close it).
bool close_after_answer();
// Why the current request could not be read to its end, as the answer to send: 408
// request_timeout past a deadline, 503 shutting_down when the server is stopping; nullopt when no
// deadline or stop cut the reading.
std::optional<ErrorReply> read_cut_reply(const StatusPolicy& policy);
// For service::RemoveBackgroundOptions::client_gone: true once the client has closed (or reset)
// its end of the connection; the answer to such a request is then not written at all. Empty
// off a connection thread.
std::function<bool()> client_gone_probe();

}  // namespace cutout::http
