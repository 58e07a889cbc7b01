#include "cutout/http/multipart.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "cutout/core/error.hpp"

namespace cutout::http {
namespace {

constexpr std::size_t kMaxBoundary = 70;  // RFC 2046 5.1.1

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// For messages: client text, cut short and with control bytes shown as '?'.
std::string shown(std::string_view s) {
  std::string out(s.substr(0, 64));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s.size() > 64 ? out + "..." : out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 8187 ext-value: charset "'" [language] "'" percent-encoded bytes. UTF-8 is kept as it is,
// ISO-8859-1 is converted to UTF-8; other charsets are refused.
std::optional<std::string> decode_ext_value(std::string_view v) {
  const auto q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  const auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  const std::string charset = lower(v.substr(0, q1));
  const bool latin1 = charset == "iso-8859-1";
  if (charset != "utf-8" && !latin1) return std::nullopt;
  std::string out;
  for (std::size_t i = q2 + 1; i < v.size(); ++i) {
    unsigned char byte = static_cast<unsigned char>(v[i]);
    if (byte == '%') {
      const int hi = i + 1 < v.size() ? hex_value(v[i + 1]) : -1;
      const int lo = i + 2 < v.size() ? hex_value(v[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      byte = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    } else if (byte <= 0x20 || byte == 0x7f) {
      return std::nullopt;
    }
    if (latin1 && byte >= 0x80) {
      out += static_cast<char>(0xC0 | (byte >> 6));
      out += static_cast<char>(0x80 | (byte & 0x3F));
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

struct Parameter {
  std::string name;  // lower case
  std::string value;
};

// The parameters after a header value's first ';': name "=" (quoted-string | value up to the next
// ';'), with optional whitespace anywhere between the pieces. In a quoted string a backslash
// escapes only '"' and '\' (as Go's mime package does, so that Windows paths keep their
// backslashes). Returns nullopt with `error` set on malformed input or a repeated name.
std::optional<std::vector<Parameter>> parse_parameters(std::string_view s, std::string& error) {
  std::vector<Parameter> out;
  std::size_t i = 0;
  const auto skip_space = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  for (;;) {
    skip_space();
    if (i == s.size()) return out;
    if (s[i] != ';') {
      error = "expected ';' before '" + shown(s.substr(i)) + "'";
      return std::nullopt;
    }
    ++i;
    skip_space();
    if (i == s.size()) return out;  // a trailing ';'
    if (s[i] == ';') continue;       // an empty parameter
    const auto eq = s.find_first_of("=;", i);
    if (eq == std::string_view::npos || s[eq] != '=') {
      error = "parameter '" + shown(trim(s.substr(i, eq - i))) + "' has no value";
      return std::nullopt;
    }
    Parameter p;
    p.name = lower(trim(s.substr(i, eq - i)));
    if (p.name.empty()) {
      error = "a parameter has no name";
      return std::nullopt;
    }
    i = eq + 1;
    skip_space();
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < s.size() && (s[i] == '"' || s[i] == '\\')) {
          p.value += s[i++];
        } else {
          p.value += c;
        }
      }
      if (!closed) {
        error = "the quoted value of '" + shown(p.name) + "' is not closed";
        return std::nullopt;
      }
    } else {
      const auto end = std::min(s.find(';', i), s.size());
      p.value = std::string(trim(s.substr(i, end - i)));
      i = end;
    }
    for (const Parameter& seen : out) {
      if (seen.name == p.name) {
        error = "parameter '" + shown(p.name) + "' appears twice";
        return std::nullopt;
      }
    }
    out.push_back(std::move(p));
  }
}

const std::string* find_parameter(const std::vector<Parameter>& params, std::string_view name) {
  for (const Parameter& p : params) {
    if (p.name == name) return &p.value;
  }
  return nullptr;
}

std::string_view media_type(std::string_view content_type) {
  return trim(content_type.substr(0, content_type.find(';')));
}

}  // namespace

bool is_multipart_form_data(std::string_view content_type) {
  return lower(media_type(content_type)) == "multipart/form-data";
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  if (semicolon == std::string_view::npos) return std::nullopt;
  std::string error;
  const auto params = parse_parameters(content_type.substr(semicolon), error);
  if (!params) return std::nullopt;
  const std::string* boundary = find_parameter(*params, "boundary");
  if (boundary == nullptr || boundary->empty() || boundary->size() > kMaxBoundary ||
      boundary->back() == ' ') {
    return std::nullopt;
  }
  for (char c : *boundary) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return *boundary;
}

MultipartParser::MultipartParser(std::string boundary, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary), limits_(limits), buf_("\r\n") {
  // buf_ starts with the CRLF that RFC 2046 lets the first boundary line go without, so that every
  // boundary line, the first included, is found as "\r\n--" + boundary.
}

bool MultipartParser::fail(std::string message) {
  state_ = State::Failed;
  error_ = std::move(message);
  parts_.clear();
  return false;
}

bool MultipartParser::feed(std::string_view data) {
  if (state_ == State::Failed) return false;
  total_ += data.size();
  if (total_ > limits_.max_total_bytes) {
    return fail("the body is over " + std::to_string(limits_.max_total_bytes) + " bytes");
  }
  if (state_ == State::Epilogue) return true;  // ignored, as RFC 2046 says (but counted above)
  buf_.append(data.data(), data.size());
  while (step()) {
  }
  buf_.erase(0, pos_);  // what is left is at most a header block or a possible delimiter
  pos_ = 0;
  return state_ != State::Failed;
}

bool MultipartParser::finish() {
  const std::string close = "'" + delimiter_.substr(2) + "--'";
  switch (state_) {
    case State::Epilogue: return true;
    case State::Failed: return false;
    case State::Preamble:
      return fail("no boundary line '" + delimiter_.substr(2) +
                  "' in the body (is the boundary in the Content-Type the one the body uses?)");
    case State::Headers:
      return fail("the body ended inside the header block of part " + std::to_string(parts_.size()));
    case State::AfterDelimiter:
    case State::Content:
      return fail("the body ended in part " + std::to_string(parts_.size()) +
                  " without the closing delimiter " + close);
  }
  return false;
}

bool MultipartParser::start_part() {
  if (parts_.size() >= limits_.max_parts) {
    return fail("more than " + std::to_string(limits_.max_parts) + " parts");
  }
  parts_.emplace_back();
  state_ = State::Headers;
  return true;
}

bool MultipartParser::step() {
  const std::string_view buf(buf_);
  switch (state_) {
    case State::Preamble:
    case State::Content: {
      const auto at = buf.find(delimiter_, pos_);
      // Without a match, keep only the bytes that could still begin one.
      const std::size_t keep = delimiter_.size() - 1;
      const std::size_t end = at != std::string_view::npos ? at
                              : buf.size() > pos_ + keep ? buf.size() - keep
                                                          : pos_;
      if (state_ == State::Content) parts_.back().content.append(buf.data() + pos_, end - pos_);
      pos_ = end;
      if (at == std::string_view::npos) return false;
      after_preamble_ = state_ == State::Preamble;
      state_ = State::AfterDelimiter;
      return true;
    }
    case State::AfterDelimiter: {
      // pos_ is at the delimiter; what follows decides whether it is one: "--" closes, optional
      // padding then CRLF opens a part, anything else makes it content.
      std::size_t i = pos_ + delimiter_.size();
      if (i + 2 > buf.size()) return false;
      if (buf[i] == '-' && buf[i + 1] == '-') {
        pos_ = buf.size();
        state_ = State::Epilogue;
        return false;
      }
      while (i < buf.size() && is_space(buf[i])) ++i;
      padding_ = i - pos_ - delimiter_.size();
      if (padding_ > limits_.max_header_bytes) {
        return fail("the padding after boundary line " + std::to_string(parts_.size() + 1) +
                    " is over " + std::to_string(limits_.max_header_bytes) + " bytes");
      }
      if (i + 2 > buf.size()) return false;
      if (buf[i] == '\r' && buf[i + 1] == '\n') {
        pos_ = i + 2;
        return start_part();
      }
      // Not a boundary line: its first byte is preamble or content, and the search goes on after it.
      if (!after_preamble_) parts_.back().content += buf[pos_];
      ++pos_;
      state_ = after_preamble_ ? State::Preamble : State::Content;
      return true;
    }
    case State::Headers: {
      const std::size_t budget = limits_.max_header_bytes - padding_;
      std::size_t end;  // the header block's end, its final CRLF included
      std::size_t next;
      if (buf.compare(pos_, 2, "\r\n") == 0) {
        end = pos_;
        next = pos_ + 2;
      } else {
        const auto at = buf.find("\r\n\r\n", pos_);
        if (at == std::string_view::npos) {
          // A terminator still to come makes the block at least this long (its final CRLF counted).
          if (buf.size() - pos_ > budget + 1) break;
          return false;
        }
        end = at + 2;
        next = at + 4;
      }
      if (end - pos_ > budget) break;
      if (!parse_headers(buf.substr(pos_, end - pos_))) return false;
      pos_ = next;
      state_ = State::Content;
      return true;
    }
    case State::Epilogue:
      pos_ = buf.size();
      return false;
    case State::Failed: return false;
  }
  return fail("the header block of part " + std::to_string(parts_.size()) + " is over " +
              std::to_string(limits_.max_header_bytes) + " bytes");
}

bool MultipartParser::parse_headers(std::string_view block) {
  FormPart& part = parts_.back();
  const std::string which = "part " + std::to_string(parts_.size());
  // Header lines, folded ones (starting with whitespace) joined to the line before.
  std::vector<std::string> lines;
  while (!block.empty()) {
    const auto eol = block.find("\r\n");
    const std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    if (!line.empty() && is_space(line.front()) && !lines.empty()) {
      lines.back() += ' ';
      lines.back() += trim(line);
    } else {
      lines.emplace_back(line);
    }
  }
  bool have_disposition = false;
  for (const std::string& line : lines) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || trim(std::string_view(line).substr(0, colon)).empty()) {
      return fail(which + ": header line '" + shown(line) + "' is not 'Name: value'");
    }
    const std::string name = lower(trim(std::string_view(line).substr(0, colon)));
    const std::string_view value = trim(std::string_view(line).substr(colon + 1));
    if (name == "content-disposition") {
      if (have_disposition) return fail(which + " has two Content-Disposition headers");
      have_disposition = true;
      if (lower(media_type(value)) != "form-data") {
        return fail(which + ": Content-Disposition is '" + shown(media_type(value)) +
                    "', not form-data (RFC 7578 4.2)");
      }
      std::string error;
      const auto semicolon = value.find(';');
      const auto params = semicolon == std::string_view::npos
                              ? std::optional<std::vector<Parameter>>(std::vector<Parameter>{})
                              : parse_parameters(value.substr(semicolon), error);
      if (!params) return fail(which + ": malformed Content-Disposition: " + error);
      // RFC 8187 values (name*, filename*) win over the plain ones (RFC 6266 4.3).
      for (const char* key : {"name", "filename"}) {
        const std::string* plain = find_parameter(*params, key);
        const std::string* extended = find_parameter(*params, std::string(key) + "*");
        std::optional<std::string> chosen;
        if (extended != nullptr) {
          chosen = decode_ext_value(*extended);
          if (!chosen) {
            return fail(which + ": " + key + "* is not an RFC 8187 value (charset'language'%xx, "
                        "charset UTF-8 or ISO-8859-1)");
          }
        } else if (plain != nullptr) {
          chosen = *plain;
        }
        if (std::string_view(key) == "name") {
          if (!chosen) return fail(which + ": Content-Disposition has no name parameter");
          part.name = std::move(*chosen);
        } else {
          part.filename = std::move(chosen);
        }
      }
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    } else if (name == "content-transfer-encoding") {
      const std::string encoding = lower(value);
      if (encoding != "binary" && encoding != "8bit" && encoding != "7bit") {
        return fail(which + ": Content-Transfer-Encoding '" + shown(value) +
                    "' is not supported (send the bytes as they are, RFC 7578 4.7)");
      }
    }  // other headers (Content-Length from OkHttp, ...) carry nothing we need
  }
  if (!have_disposition) {
    return fail(which + " has no Content-Disposition: form-data header (RFC 7578 4.2)");
  }
  return true;
}

std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary,
                                      MultipartLimits limits) {
  MultipartParser parser{std::string(boundary), limits};
  if (!parser.feed(body) || !parser.finish()) {
    throw Error(ErrorKind::InvalidArgument, "invalid_multipart", "multipart body: " + parser.error());
  }
  return parser.take_parts();
}

}  // namespace cutout::http
