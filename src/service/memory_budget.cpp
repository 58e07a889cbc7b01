#include "cutout/service/memory_budget.hpp"

#include <limits>
#include <string>
#include <utility>

#include "cutout/core/error.hpp"

namespace cutout::service {
namespace {

std::string mib(std::uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

MemoryBudget::MemoryBudget(std::function<std::uint64_t()> capacity) : capacity_source_(std::move(capacity)) {}

MemoryBudget::Reservation::Reservation(Reservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

MemoryBudget::Reservation& MemoryBudget::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    if (budget_ != nullptr) budget_->release(bytes_);
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

MemoryBudget::Reservation::~Reservation() {
  if (budget_ != nullptr) budget_->release(bytes_);
}

std::uint64_t MemoryBudget::capacity_locked() {
  if (!resolved_) {
    capacity_ = capacity_source_ ? capacity_source_() : std::numeric_limits<std::uint64_t>::max();
    resolved_ = true;
  }
  return capacity_;
}

MemoryBudget::Reservation MemoryBudget::admit(std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t capacity = capacity_locked();
  if (bytes > capacity) {
    throw Error(ErrorKind::PayloadTooLarge, "image_too_large",
                "this image needs about " + mib(bytes) + " of memory to process, more than this " +
                    "instance's whole budget of " + mib(capacity) + "; send a smaller image");
  }
  if (bytes > capacity - in_use_) {
    ++refused_;
    throw Error(ErrorKind::Overloaded, "busy",
                "not enough memory free for this image now (needs about " + mib(bytes) + ", " +
                    mib(capacity - in_use_) + " of " + mib(capacity) + " free); try again later");
  }
  in_use_ += bytes;
  return Reservation(this, bytes);
}

void MemoryBudget::release(std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_use_ -= bytes;
}

BudgetStats MemoryBudget::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool unlimited = resolved_ && capacity_ == std::numeric_limits<std::uint64_t>::max();
  return BudgetStats{unlimited ? 0 : capacity_, in_use_, refused_};
}

}  // namespace cutout::service
