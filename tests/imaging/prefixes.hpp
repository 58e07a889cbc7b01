#pragma once
// Feeding every prefix of a file to a parser, each in its own exactly sized heap block, so that a
// read past the end is caught by AddressSanitizer (a std::string would hide it behind its spare
// capacity and terminating zero).

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>

namespace cutout::testing {

template <typename Check>
void for_each_prefix(std::string_view bytes, Check&& check) {
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    const auto block = std::make_unique<char[]>(length);
    std::copy(bytes.begin(), bytes.begin() + length, block.get());
    check(std::string_view(block.get(), length), length);
  }
}

}  // namespace cutout::testing
