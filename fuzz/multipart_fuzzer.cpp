// libFuzzer target: the multipart/form-data reader (src/http/multipart.cpp), alone: no LibTorch, no
// server, so it runs thousands of inputs a second. One input is CONTENT-TYPE '\n' BODY.
//
// Oracles, beyond ASan/UBSan: only cutout::Error (invalid_multipart) leaves parse_multipart; the
// body fed in pieces (sizes taken from the input) gives exactly the outcome of the body fed whole
// (same parts, or the same error); an accepted body keeps the limits (parts, content no larger than
// the body); and the accepted parts, written out again with RFC 8187 names and the same boundary,
// parse back to the same parts.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cutout/core/error.hpp"
#include "cutout/http/multipart.hpp"

namespace {

using cutout::http::FormPart;
using cutout::http::MultipartLimits;
using cutout::http::MultipartParser;

[[noreturn]] void finding(const char* what, std::string_view input) {
  std::fprintf(stderr, "multipart_fuzzer: %s\n--- input (first 512 bytes) ---\n%.*s\n", what,
               static_cast<int>(std::min<std::size_t>(input.size(), 512)), input.data());
  std::abort();
}

// Small limits, so that inputs reach them.
MultipartLimits limits() {
  MultipartLimits l;
  l.max_parts = 8;
  l.max_header_bytes = 256;
  return l;
}

struct Outcome {
  bool ok = false;
  std::string error;
  std::vector<FormPart> parts;
};

Outcome parse_in_pieces(const std::string& boundary, std::string_view body, std::string_view sizes) {
  MultipartParser parser(boundary, limits());
  bool ok = true;
  std::size_t at = 0;
  for (std::size_t i = 0; ok && at < body.size(); ++i) {
    const std::size_t n = sizes.empty() ? 1 : 1 + static_cast<unsigned char>(sizes[i % sizes.size()]) % 97;
    ok = parser.feed(body.substr(at, n));
    at += n;
  }
  Outcome out;
  out.ok = ok && parser.finish();
  out.error = parser.error();
  out.parts = parser.take_parts();
  return out;
}

bool same_parts(const std::vector<FormPart>& a, const std::vector<FormPart>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].filename != b[i].filename || a[i].content != b[i].content) return false;
  }
  return true;
}

std::string ext_value(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "utf-8''";
  for (unsigned char c : text) {
    out += '%';
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string write_again(const std::string& boundary, const std::vector<FormPart>& parts) {
  std::string body;
  for (const FormPart& p : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name*=" + ext_value(p.name);
    if (p.filename) body += "; filename*=" + ext_value(*p.filename);
    body += "\r\n\r\n" + p.content + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);
  cutout::http::is_multipart_form_data(content_type);
  const auto boundary = cutout::http::multipart_boundary(content_type);
  if (!boundary) return 0;
  if (boundary->empty() || boundary->size() > 70) finding("boundary outside 1..70 characters", input);

  Outcome whole;
  try {
    whole.parts = cutout::http::parse_multipart(body, *boundary, limits());
    whole.ok = true;
  } catch (const cutout::Error& e) {
    if (e.type() != "invalid_multipart") finding("unexpected error type", input);
    whole.error = e.what();
  }
  // Piece sizes from the body's own bytes: every input also tries a different split.
  const Outcome pieces = parse_in_pieces(*boundary, body, body.substr(0, 16));
  if (pieces.ok != whole.ok) finding("pieces and whole body disagree on acceptance", input);
  if (!whole.ok && "multipart body: " + pieces.error != whole.error) finding("different error in pieces", input);
  if (!whole.ok) return 0;
  if (!same_parts(whole.parts, pieces.parts)) finding("pieces and whole body give different parts", input);
  if (whole.parts.size() > limits().max_parts) finding("more parts than the limit", input);
  std::size_t content = 0;
  for (const FormPart& p : whole.parts) content += p.content.size();
  if (content > body.size()) finding("more content than body", input);

  const std::string again = write_again(*boundary, whole.parts);
  std::vector<FormPart> reparsed;
  MultipartLimits roomy = limits();
  roomy.max_header_bytes = 1 << 20;  // the RFC 8187 names are three times longer
  try {
    reparsed = cutout::http::parse_multipart(again, *boundary, roomy);
  } catch (const cutout::Error&) {
    finding("the accepted parts, written again, are refused", input);
  }
  if (!same_parts(whole.parts, reparsed)) finding("the accepted parts do not parse back the same", input);
  return 0;
}
