#include "cutout/core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cutout::core {
namespace {

// One parallel_for call: chunks are claimed through an atomic counter, so a worker that picks the
// job up after the caller has claimed every chunk simply finds nothing left.
struct Loop {
  std::int64_t begin = 0, end = 0, chunk = 1, chunks = 0;
  const std::function<void(std::int64_t, std::int64_t)>* fn = nullptr;
  std::atomic<std::int64_t> next{0};
  std::mutex mutex;
  std::condition_variable all_done;
  std::int64_t done = 0;
  std::exception_ptr error;

  // Runs chunks until none is left.
  void work() {
    for (std::int64_t i = next.fetch_add(1); i < chunks; i = next.fetch_add(1)) {
      std::exception_ptr failure;
      try {
        const std::int64_t b = begin + i * chunk;
        (*fn)(b, std::min(end, b + chunk));
      } catch (...) {
        failure = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (failure && !error) error = failure;
      if (++done == chunks) all_done.notify_all();
    }
  }
};

class Pool {
 public:
  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { serve(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  int threads() const { return threads_; }

  // Offers the loop to up to `helpers` idle workers.
  void offer(const std::shared_ptr<Loop>& loop, std::int64_t helpers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::int64_t i = 0; i < helpers; ++i) queue_.push_back(loop);
    }
    if (helpers == 1) {
      wake_.notify_one();
    } else {
      wake_.notify_all();
    }
  }

 private:
  void serve() {
    for (;;) {
      std::shared_ptr<Loop> loop;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to help with
        loop = std::move(queue_.front());
        queue_.pop_front();
      }
      loop->work();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Loop>> queue_;
  bool stopping_ = false;
};

std::mutex g_pool_mutex;
std::shared_ptr<Pool> g_pool;

std::shared_ptr<Pool> pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_shared<Pool>(static_cast<int>(std::thread::hardware_concurrency()));
  return g_pool;
}

// Chunks per thread: more than one, so a thread slowed by other work does not hold up the loop.
constexpr std::int64_t kChunksPerThread = 4;

}  // namespace

void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (end <= begin) return;
  const std::int64_t items = end - begin;
  grain = std::max<std::int64_t>(1, grain);
  const std::shared_ptr<Pool> workers = pool();
  const std::int64_t threads = workers->threads();
  if (threads == 1 || items <= grain) {
    fn(begin, end);
    return;
  }
  auto loop = std::make_shared<Loop>();
  loop->begin = begin;
  loop->end = end;
  loop->chunks = std::min((items + grain - 1) / grain, threads * kChunksPerThread);
  loop->chunk = (items + loop->chunks - 1) / loop->chunks;
  loop->chunks = (items + loop->chunk - 1) / loop->chunk;
  loop->fn = &fn;
  workers->offer(loop, std::min(loop->chunks - 1, threads - 1));
  loop->work();
  std::unique_lock<std::mutex> lock(loop->mutex);
  loop->all_done.wait(lock, [&] { return loop->done == loop->chunks; });
  if (loop->error) std::rethrow_exception(loop->error);
}

int parallel_threads() { return pool()->threads(); }

void set_parallel_threads(int threads) {
  auto replacement = std::make_shared<Pool>(threads);
  std::shared_ptr<Pool> old;
  {
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    old = std::move(g_pool);
    g_pool = std::move(replacement);
  }
  // `old` is joined here, or by the last loop still holding it.
}

}  // namespace cutout::core
