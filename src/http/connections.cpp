// The connections: a thread each (the registry), the keep-alive loop, the stop, and what hooks on
// a connection's thread may ask. Reading and writing one socket is connection_stream.

#include "cutout/http/connections.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "cutout/core/error.hpp"
#include "cutout/logging/logging.hpp"
#include "connection_stream.hpp"

namespace cutout::http {
namespace {

// A request that arrives while stopping is read for at most this long before its 503.
constexpr auto kStoppingHeaderTimeout = std::chrono::milliseconds(1000);

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
