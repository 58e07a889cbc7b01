#pragma once
// A streaming multipart/form-data reader (RFC 7578 over RFC 2046 framing), written for cutout
// because Debian has no C or C++ one and cpp-httplib 0.11's refuses bodies that real clients send
// (quoted boundaries, unquoted or RFC 5987 parameters, transport padding, no CRLF after the close).
//
// What it accepts: a boundary quoted or not, among other Content-Type parameters; a preamble and an
// epilogue (ignored); whitespace (transport padding) after a boundary line; a body that ends right
// after the closing "--"; part header names in any case, folded header lines; Content-Disposition
// parameters quoted, unquoted (a token, or anything up to the next ';'), or RFC 8187 `name*` /
// `filename*` (UTF-8 or ISO-8859-1, which wins over `filename`), in any order, with extra parameters
// and whitespace around ';' and '='. What it refuses (error() says which): no boundary line, no
// closing delimiter, a part without `Content-Disposition: form-data; name=...`, a repeated
// parameter, a part header line without ':', a base64 or quoted-printable part (RFC 7578 4.7),
// and bodies over the limits below. Bytes are only ever held once: the parts' contents, plus at
// most one header block or one possible delimiter still being read. No LibTorch, no httplib.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutout::http {

struct MultipartLimits {
  std::size_t max_parts = 64;          // every part counts, empty ones too
  std::size_t max_header_bytes = 8192; // one part's header block, with the padding before it
  // Every byte fed counts: preamble, delimiters, padding, part headers, contents, empty parts and
  // the epilogue (which is otherwise ignored). The upload passes its body limit here.
  std::size_t max_total_bytes = SIZE_MAX;
};

struct FormPart {
  std::string name;
  std::optional<std::string> filename;  // set when the part names a file (`filename` or `filename*`)
  std::string content_type;             // the part's Content-Type, "" when it has none
  std::string content;
};

// True when a Content-Type value's media type is multipart/form-data (any case, any parameters).
bool is_multipart_form_data(std::string_view content_type);

// The boundary parameter of a multipart Content-Type value (quoted or not, name in any case), or
// nullopt when there is none or it is not 1..70 visible ASCII characters (spaces inside, not at
// the end), as RFC 2046 allows.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Push parser: feed() the body as it arrives, then finish(). Both return false once the body is
// known to be malformed or over a limit; error() then says why (over_total(): it was the byte
// limit), and nothing more need be read.
class MultipartParser {
 public:
  explicit MultipartParser(std::string boundary, MultipartLimits limits = {});

  bool feed(std::string_view data);
  bool finish();  // the body ended: true only if the closing delimiter was read

  const std::string& error() const { return error_; }
  bool over_total() const { return total_ > limits_.max_total_bytes; }
  bool complete() const { return state_ == State::Epilogue; }
  const std::vector<FormPart>& parts() const { return parts_; }
  std::vector<FormPart> take_parts() { return std::move(parts_); }

 private:
  enum class State { Preamble, AfterDelimiter, Headers, Content, Epilogue, Failed };

  bool fail(std::string message);
  bool step();  // one move of the state machine on buf_; false when it needs more bytes or failed
  bool start_part();
  bool parse_headers(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  State state_ = State::Preamble;
  std::string buf_;        // bytes received and not yet consumed
  std::size_t pos_ = 0;    // where in buf_ consumption stands
  std::size_t padding_ = 0;      // whitespace after the last boundary line (counts as header)
  std::size_t total_ = 0;        // bytes fed so far, all of them (limits_.max_total_bytes)
  bool after_preamble_ = false;  // the delimiter being checked was found in the preamble
  std::vector<FormPart> parts_;
  std::string error_;
};

// The whole body at once (for tests and the fuzz target): the parts, or cutout::Error
// (InvalidArgument, "invalid_multipart") with the parser's message.
std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary,
                                      MultipartLimits limits = {});

}  // namespace cutout::http
