#pragma once
// Choosing the result's format from the Accept header (RFC 9110, section 12.5.1).

#include <optional>
#include <string>

#include "cutout/imaging/encode.hpp"

namespace cutout::http {

// The format to answer in, among image/png, image/webp and image/jpeg (jpeg only when
// `jpeg_possible`, i.e. the result has no alpha), for an Accept header value:
//   - each candidate gets the q of the most specific range that matches it (image/png over
//     image/* over */*); a candidate no range matches, or one with q=0, is not acceptable;
//   - the highest q wins, ties go to the server's order png, webp, jpeg;
//   - an empty or absent header accepts anything (png).
// Elements that do not parse (no type/subtype, a bad q) are ignored. nullopt: nothing acceptable.
std::optional<imaging::OutputFormat> negotiate_format(const std::string& accept, bool jpeg_possible);

}  // namespace cutout::http
