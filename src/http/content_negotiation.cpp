#include "cutout/http/content_negotiation.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>
#include <vector>

namespace cutout::http {
namespace {

struct MediaRange {
  std::string type;     // "image" or "*"
  std::string subtype;  // "png" or "*"
  int q_thousandths = 1000;
};

std::string trim_lower(std::string s) {
  const auto not_space = [](unsigned char c) { return c != ' ' && c != '\t'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<int> parse_q(const std::string& text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  if (text.size() > 1 && (text[1] != '.' || text.size() > 5)) return std::nullopt;
  int value = (text[0] - '0') * 1000;
  int scale = 100;
  for (std::size_t i = 2; i < text.size(); ++i, scale /= 10) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    value += (text[i] - '0') * scale;
  }
  if (value > 1000) return std::nullopt;
  return value;
}

std::optional<MediaRange> parse_range(const std::string& element) {
  const std::vector<std::string> params = split(element, ';');
  const std::string media = trim_lower(params[0]);
  const auto slash = media.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == media.size()) return std::nullopt;
  MediaRange range{media.substr(0, slash), media.substr(slash + 1)};
  if (range.type == "*" && range.subtype != "*") return std::nullopt;
  for (std::size_t i = 1; i < params.size(); ++i) {
    const std::string param = trim_lower(params[i]);
    if (param.rfind("q=", 0) != 0) continue;  // other parameters do not change the match here
    const auto q = parse_q(param.substr(2));
    if (!q) return std::nullopt;
    range.q_thousandths = *q;
  }
  return range;
}

// The q of the most specific range matching image/<subtype>, or -1 when none matches.
int quality_of(const std::vector<MediaRange>& ranges, const std::string& subtype) {
  int best_specificity = -1, q = -1;
  for (const MediaRange& r : ranges) {
    int specificity = -1;
    if (r.type == "image" && r.subtype == subtype) specificity = 2;
    else if (r.type == "image" && r.subtype == "*") specificity = 1;
    else if (r.type == "*") specificity = 0;
    if (specificity > best_specificity) {
      best_specificity = specificity;
      q = r.q_thousandths;
    }
  }
  return q;
}

}  // namespace

std::optional<imaging::OutputFormat> negotiate_format(const std::string& accept, bool jpeg_possible) {
  if (trim_lower(accept).empty()) return imaging::OutputFormat::Png;
  std::vector<MediaRange> ranges;
  for (const std::string& element : split(accept, ',')) {
    if (auto range = parse_range(element)) ranges.push_back(std::move(*range));
  }
  // The server's preference order: ties go to the first.
  const std::array<std::pair<const char*, imaging::OutputFormat>, 3> candidates = {{
      {"png", imaging::OutputFormat::Png},
      {"webp", imaging::OutputFormat::Webp},
      {"jpeg", imaging::OutputFormat::Jpeg},
  }};
  std::optional<imaging::OutputFormat> chosen;
  int best_q = 0;
  for (const auto& [subtype, format] : candidates) {
    if (format == imaging::OutputFormat::Jpeg && !jpeg_possible) continue;
    const int q = quality_of(ranges, subtype);
    if (q > best_q) {
      best_q = q;
      chosen = format;
    }
  }
  return chosen;
}

}  // namespace cutout::http
