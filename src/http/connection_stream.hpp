#pragma once
// One open connection's state and the library Stream over its socket (private to src/http:
// connections.cpp runs the connections, this reads and writes them). Every wait polls the socket
// and the stop signal and ends at the phase's total deadline; the bytes handed to the library are
// counted against the head and body bounds of connections.hpp.

#include <poll.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>

#include <httplib.h>

#include "cutout/http/connections.hpp"

namespace cutout::http {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadBufferBytes = 4096;

enum class Phase { Idle, Headers, Body, Handling };

// Rounded up, so a wait never ends before its time point.
inline int ms_until(Clock::time_point t) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 1 << 30));
}

class ConnectionRegistry;

// One open connection, on its own thread; registered for the eviction and the stop.
struct Connection {
  int fd;
  std::atomic<Phase> phase{Phase::Idle};
  Clock::time_point deadline{};  // of the current phase's reading; written on the own thread only
  bool abort_on_stop = true;     // false for a request that began while stopping (it gets a 503)
  std::chrono::milliseconds body_timeout{0};
  std::size_t max_body_bytes = 0;       // the body limit, as the client is told
  std::size_t max_body_wire_bytes = 0;  // what may be read for it (connections.hpp)
  ReadCut cut = ReadCut::None;
  Clock::time_point request_started{};  // the current request's first byte
  std::string request_line;             // its first bytes, up to kRequestLinePrefixBytes or the end of line
  bool request_line_done = false;
  std::atomic<bool> gone{false};  // the client left: nothing more is written
  bool close_after_answer = false;  // the answer says Connection: close
  ConnectionRegistry* registry = nullptr;
};


// The library's Stream over one socket, with the connection's deadlines and the stop signal in
// every wait, and a read buffer (the library reads request lines a byte at a time).
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(Connection& c, int stop_fd, std::chrono::milliseconds read_timeout,
                   std::chrono::milliseconds write_timeout)
      : c_(c), stop_fd_(stop_fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  bool is_readable() const override { return begin_ < end_ || const_cast<ConnectionStream*>(this)->wait_readable(); }

  bool is_writable() const override {
    pollfd p{c_.fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(write_timeout_.count()));
    return n > 0 && (p.revents & POLLOUT) != 0;
  }

  ssize_t read(char* ptr, std::size_t size) override {
    if (begin_ == end_) {
      if (!wait_readable()) return -1;
      const ssize_t n = ::recv(c_.fd, buffer_, sizeof(buffer_), 0);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    std::size_t n = std::min(size, end_ - begin_);
    if (c_.phase.load() == Phase::Headers) {
      if (header_bytes_ >= kMaxHeaderBytes) {
        c_.cut = ReadCut::HeadersTooLarge;
        return -1;
      }
      n = std::min(n, kMaxHeaderBytes - header_bytes_);
      header_bytes_ += n;
      keep_request_line(buffer_ + begin_, n);
    } else if (c_.phase.load() == Phase::Body) {
      if (body_bytes_ >= c_.max_body_wire_bytes) {
        c_.cut = ReadCut::BodyTooLarge;
        return -1;
      }
      n = std::min(n, c_.max_body_wire_bytes - body_bytes_);
      body_bytes_ += n;
    }
    std::copy(buffer_ + begin_, buffer_ + begin_ + n, ptr);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (c_.gone.load()) return static_cast<ssize_t>(size);  // nobody to answer: send nothing
    if (!is_writable()) return -1;
    return ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t size = sizeof(addr);
    if (::getpeername(c_.fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0) describe(addr, size, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t size = sizeof(addr);
    if (::getsockname(c_.fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0) describe(addr, size, ip, port);
  }
  socket_t socket() const override { return c_.fd; }

  bool has_buffered() const { return begin_ < end_; }
  void start_request() {
    header_bytes_ = body_bytes_ = 0;
    c_.request_started = Clock::now();
    c_.request_line.clear();
    c_.request_line_done = false;
  }

 private:
  static void describe(const sockaddr_storage& addr, socklen_t size, std::string& ip, int& port) {
    char host[NI_MAXHOST];
    if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), size, host, sizeof(host), nullptr, 0,
                      NI_NUMERICHOST) == 0) {
      ip = host;
    }
    if (addr.ss_family == AF_INET) port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }

  // The request line's first bytes, for the access line of a request refused unparsed.
  void keep_request_line(const char* bytes, std::size_t n) {
    for (std::size_t i = 0; i < n && !c_.request_line_done; ++i) {
      if (bytes[i] == '\r' || bytes[i] == '\n' || c_.request_line.size() >= kRequestLinePrefixBytes) {
        c_.request_line_done = true;
      } else {
        c_.request_line.push_back(bytes[i]);
      }
    }
  }

  // Until the socket has bytes (or its end): at most the per-read timeout, never past the
  // phase's total deadline, and not past a stop for a request that began before it.
  bool wait_readable() {
    const auto per_read = Clock::now() + read_timeout_;
    const auto until = std::min(per_read, c_.deadline);
    for (;;) {
      pollfd p[2] = {{c_.fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      const int n = ::poll(p, c_.abort_on_stop ? 2 : 1, ms_until(until));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (p[0].revents != 0) return true;  // bytes, or the end: recv tells which
      if (n > 0) {
        c_.cut = ReadCut::ShuttingDown;
        return false;
      }
      if (c_.deadline <= per_read) c_.cut = ReadCut::Deadline;
      return false;  // the per-read timeout (or the deadline)
    }
  }

  Connection& c_;
  const int stop_fd_;
  const std::chrono::milliseconds read_timeout_;
  const std::chrono::milliseconds write_timeout_;
  char buffer_[kReadBufferBytes];
  std::size_t begin_ = 0, end_ = 0;
  std::size_t header_bytes_ = 0;  // of the current request's line and headers
  std::size_t body_bytes_ = 0;    // of its body, framing included
};

// Waits for the first byte of the next request. False: the idle time passed, the server is
// stopping with nothing sent, or the connection was evicted.
bool wait_for_request(const Connection& c, int stop_fd, std::chrono::milliseconds idle);

// Closes the socket; unread request bytes are drained first (bounded) so that the kernel's reset
// does not destroy an answer the client has not read yet.
void close_connection(int fd);

}  // namespace cutout::http
