#pragma once
// The memory budget across requests: each /remove-background request reserves its estimated peak
// (service/memory_estimate.hpp) before anything big is allocated, and gives it back when it ends.
// A request that does not fit beside the others is refused at once (503 busy + Retry-After), so
// concurrent large images cannot together exceed what the container may use.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>

namespace cutout::service {

struct BudgetStats {
  std::uint64_t capacity_bytes = 0;  // 0 before the first request resolves it
  std::uint64_t in_use_bytes = 0;
  std::uint64_t refused = 0;         // 503 busy answers
};

class MemoryBudget {
 public:
  // `capacity`: the bytes requests may hold together, asked once, at the first admit() (by then
  // the model is loaded and warmed up, so what it holds can be subtracted). Null: unlimited.
  explicit MemoryBudget(std::function<std::uint64_t()> capacity);

  // Gives its bytes back when destroyed. Move-only.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation();
    std::uint64_t bytes() const { return bytes_; }

   private:
    friend class MemoryBudget;
    Reservation(MemoryBudget* budget, std::uint64_t bytes) : budget_(budget), bytes_(bytes) {}
    MemoryBudget* budget_ = nullptr;
    std::uint64_t bytes_ = 0;
  };

  // Reserves `bytes`. Throws cutout::Error: Overloaded ("busy") when they do not fit beside what is
  // reserved now; PayloadTooLarge ("image_too_large") when they exceed the whole budget, so no
  // retry could succeed.
  Reservation admit(std::uint64_t bytes);

  BudgetStats stats() const;

 private:
  void release(std::uint64_t bytes);
  std::uint64_t capacity_locked();

  std::function<std::uint64_t()> capacity_source_;
  mutable std::mutex mutex_;
  bool resolved_ = false;
  std::uint64_t capacity_ = 0;
  std::uint64_t in_use_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace cutout::service
