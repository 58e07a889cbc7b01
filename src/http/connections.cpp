#include "cutout/http/connections.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "cutout/core/error.hpp"
#include "cutout/logging/logging.hpp"

namespace cutout::http {
namespace {

using Clock = std::chrono::steady_clock;

// A request that arrives while stopping is read for at most this long before its 503.
constexpr auto kStoppingHeaderTimeout = std::chrono::milliseconds(1000);
// Unread request bytes at close make the kernel send a reset, which can destroy the answer before
// the client reads it; drain them for at most this long (and this much) first.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::size_t kReadBufferBytes = 4096;

enum class Phase { Idle, Headers, Body, Handling };

// Rounded up, so a wait never ends before its time point.
int ms_until(Clock::time_point t) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 1 << 30));
}

}  // namespace

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

namespace {
thread_local Connection* t_connection = nullptr;
}  // namespace

// The open connections, the stop signal (an eventfd every wait polls besides its socket) and the
// connection threads: one per connection, started when none is free, up to the cap.
class ConnectionRegistry : public httplib::TaskQueue {
 public:
  ConnectionRegistry(std::size_t min_threads, std::size_t max_threads)
      : min_threads_(std::max<std::size_t>(1, min_threads)),
        max_threads_(std::max(max_threads, min_threads_)),
        stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~ConnectionRegistry() override {
    shutdown();
    if (stop_fd_ >= 0) ::close(stop_fd_);
  }

  int stop_fd() const { return stop_fd_; }
  bool stopping() const { return stopping_.load(); }

  void begin_stop() {
    if (stopping_.exchange(true)) return;
    const std::uint64_t one = 1;
    // Level-triggered and never read back: every poll that includes it wakes, now and later.
    if (::write(stop_fd_, &one, sizeof(one)) != sizeof(one)) {
      log_event(spdlog::level::err, "cannot signal the connection threads to stop");
    }
  }

  void add(Connection* c) {
    std::lock_guard<std::mutex> lock(mutex_);
    open_.push_back(c);
  }
  void remove(Connection* c) {
    std::lock_guard<std::mutex> lock(mutex_);
    open_.remove(c);
  }
  std::size_t open() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_.size();
  }

  // httplib::TaskQueue: the accept loop hands each accepted socket here.
  void enqueue(std::function<void()> fn) override {
    bool full = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(fn));
      if (jobs_.size() > waiting_) {
        if (threads_.size() < max_threads_) {
          threads_.emplace_back([this] { work(); });
        } else {
          full = true;
        }
      }
      // Evict under the same lock as the list it walks.
      if (full) evict_oldest_idle_locked();
    }
    work_ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    work_ready_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  void start_floor() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (threads_.size() < min_threads_) threads_.emplace_back([this] { work(); });
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ++waiting_;
        work_ready_.wait(lock, [&] { return !jobs_.empty() || shut_down_; });
        --waiting_;
        if (jobs_.empty()) return;  // shut down, nothing left: queued sockets are all served first
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  // Every thread is busy: close the connection idle the longest so a new one (a probe) is served.
  // Closing an idle keep-alive connection is ordinary HTTP; clients open another.
  void evict_oldest_idle_locked() {
    for (Connection* c : open_) {
      if (c->phase.load() == Phase::Idle) {
        ::shutdown(c->fd, SHUT_RDWR);  // wakes its wait, which then ends the connection
        return;
      }
    }
  }

  const std::size_t min_threads_;
  const std::size_t max_threads_;
  const int stop_fd_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::list<Connection*> open_;  // oldest first
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t waiting_ = 0;
  bool shut_down_ = false;
};

namespace {

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

// Closes the socket; unread request bytes are drained first (bounded) so that the kernel's reset
// does not destroy an answer the client has not read yet.
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

}  // namespace

ConnectionServer::ConnectionServer(ConnectionOptions options)
    : options_(options),
      registry_(std::make_unique<ConnectionRegistry>(static_cast<std::size_t>(options.min_threads),
                                                     static_cast<std::size_t>(options.max_connections))) {
  // The library owns (and deletes) the queue it gets from here; ours is the registry, which lives
  // as long as this server, so hand it a forwarding shell.
  struct Forward : httplib::TaskQueue {
    ConnectionRegistry* r;
    explicit Forward(ConnectionRegistry* registry) : r(registry) {}
    void enqueue(std::function<void()> fn) override { r->enqueue(std::move(fn)); }
    void shutdown() override { r->shutdown(); }
  };
  ConnectionRegistry* registry = registry_.get();
  new_task_queue = [registry] {
    registry->start_floor();
    return new Forward(registry);
  };
}

ConnectionServer::~ConnectionServer() = default;

void ConnectionServer::begin_stop() { registry_->begin_stop(); }

std::size_t ConnectionServer::open_connections() const { return registry_->open(); }

bool ConnectionServer::process_and_close_socket(socket_t sock) {
  Connection c;
  c.fd = sock;
  c.registry = registry_.get();
  c.body_timeout = options_.body_timeout;
  c.max_body_bytes = payload_max_length_;
  c.max_body_wire_bytes = max_body_wire_bytes(payload_max_length_);
  registry_->add(&c);
  t_connection = &c;
  const int stop_fd = registry_->stop_fd();
  const auto ms = [](time_t sec, time_t usec) {
    return std::chrono::milliseconds(static_cast<long long>(sec) * 1000 + usec / 1000);
  };
  ConnectionStream stream(c, stop_fd, ms(read_timeout_sec_, read_timeout_usec_),
                          ms(write_timeout_sec_, write_timeout_usec_));
  bool ok = true;
  try {
    for (std::size_t served = 0; served < keep_alive_max_count_; ++served) {
      const bool stopping = registry_->stopping();
      // Pipelined bytes already read count as a request that has arrived.
      if (!stream.has_buffered() && !wait_for_request(c, stop_fd, options_.idle_timeout)) break;
      c.cut = ReadCut::None;
      c.close_after_answer = false;
      c.abort_on_stop = !stopping;
      c.deadline = Clock::now() + (stopping ? std::min<std::chrono::milliseconds>(options_.header_timeout,
                                                                                  kStoppingHeaderTimeout)
                                            : options_.header_timeout);
      c.phase = Phase::Headers;
      stream.start_request();
      bool closed = false;
      const bool last = served + 1 == keep_alive_max_count_ || stopping;
      ok = process_request(stream, last, closed, nullptr);
      c.phase = Phase::Idle;
      if (!ok || closed || last || c.close_after_answer || c.gone.load() || c.cut != ReadCut::None ||
          registry_->stopping()) {
        break;
      }
    }
  } catch (...) {
    ok = false;  // the library's hooks catch their own; nothing may escape a connection thread
  }
  t_connection = nullptr;
  registry_->remove(&c);
  close_connection(sock);
  return ok;
}

std::optional<RequestArrival> connection_request_arrival() {
  const Connection* c = t_connection;
  if (c == nullptr || c->request_started == Clock::time_point{}) return std::nullopt;
  RequestArrival arrival;
  arrival.started = c->request_started;
  const std::string& line = c->request_line;
  const auto space = line.find(' ');
  arrival.method = line.substr(0, space);
  if (space != std::string::npos) {
    const std::string rest = line.substr(space + 1);
    arrival.target_prefix = rest.substr(0, rest.find(' '));
    arrival.target_cut = rest.find(' ') == std::string::npos && line.size() >= kRequestLinePrefixBytes;
  }
  return arrival;
}

std::size_t max_body_wire_bytes(std::size_t max_body_bytes) {
  return max_body_bytes + max_body_bytes / 16 + 64 * 1024;
}

bool connection_stopping() {
  return t_connection != nullptr && t_connection->registry->stopping();
}

void connection_headers_read() {
  Connection* c = t_connection;
  if (c == nullptr) return;
  // The body's own deadline; a request that began while stopping keeps its short one.
  if (c->abort_on_stop) c->deadline = Clock::now() + c->body_timeout;
  c->phase = Phase::Body;
}

bool close_after_answer() {
  if (t_connection == nullptr) return false;
  t_connection->close_after_answer = true;
  return true;
}

std::optional<ErrorReply> read_cut_reply(const StatusPolicy& policy) {
  const Connection* c = t_connection;
  if (c == nullptr) return std::nullopt;
  switch (c->cut) {
    case ReadCut::None: return std::nullopt;
    case ReadCut::Deadline: return reply_for_status(408);
    case ReadCut::BodyTooLarge: return body_too_large(c->max_body_bytes);
    case ReadCut::HeadersTooLarge:
      return ErrorReply{431, "too_many_headers",
                        "the request line and headers are over " + std::to_string(kMaxHeaderBytes) + " bytes",
                        std::nullopt};
    case ReadCut::ShuttingDown:
      return policy.reply_for(Error(ErrorKind::ShuttingDown, "shutting_down",
                                    "the server is shutting down; send the request again"));
  }
  return std::nullopt;
}

std::function<bool()> client_gone_probe() {
  Connection* c = t_connection;
  if (c == nullptr) return {};
  return [c] {
    if (c->gone.load()) return true;
    pollfd p{c->fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    bool gone = (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) != 0;
    if (!gone && (p.revents & POLLIN)) {
      char byte;
      const ssize_t n = ::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    if (gone) c->gone.store(true);
    return gone;
  };
}

}  // namespace cutout::http
