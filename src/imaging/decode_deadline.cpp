#include "decode_deadline.hpp"

#include "cutout/core/error.hpp"

namespace cutout::imaging::detail {

DecodeDeadline::DecodeDeadline(std::chrono::milliseconds budget)
    : budget_(budget), end_(std::chrono::steady_clock::now() + budget) {}

bool DecodeDeadline::passed() const {
  return budget_.count() > 0 && std::chrono::steady_clock::now() >= end_;
}

void DecodeDeadline::check(const std::string& stage) const {
  if (passed()) fail(stage);
}

void DecodeDeadline::fail(const std::string& stage) const {
  throw Error(ErrorKind::InvalidArgument, "decode_timeout",
              "decoding the image took longer than the " + std::to_string(budget_.count()) +
                  " ms limit and was stopped (" + stage +
                  "); send a smaller or simpler image (a baseline JPEG, fewer pixels)");
}

}  // namespace cutout::imaging::detail
