#include "connection_stream.hpp"

#include <unistd.h>

namespace cutout::http {
namespace {

// Unread request bytes at close make the kernel send a reset, which can destroy the answer before
// the client reads it; drain them for at most this long (and this much) first.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr std::size_t kLingerBytes = 1 << 20;

}  // namespace

bool wait_for_request(const Connection& c, int stop_fd, std::chrono::milliseconds idle) {
  const auto until = Clock::now() + idle;
  for (;;) {
    pollfd p[2] = {{c.fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int n = ::poll(p, 2, ms_until(until));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (p[0].revents & POLLIN) return true;  // sent (even while stopping: it gets its 503)
    return false;                            // hung up, evicted, or stopping while idle
  }
}

void close_connection(int fd) {
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  std::size_t drained = 0;
  const auto until = Clock::now() + kLingerTime;
  while (drained < kLingerBytes) {
    const ssize_t peek = ::recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
    if (peek == 0) break;
    if (peek > 0) {
      drained += static_cast<std::size_t>(peek);
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) break;
    if (drained == 0) break;  // nothing was left unread: no reset to fear
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms_until(until)) <= 0) break;
  }
  ::close(fd);
}

}  // namespace cutout::http
