#include "cutout/http/upload.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include <httplib.h>

#include "cutout/core/error.hpp"

namespace cutout::http {
namespace {

std::string lower_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  std::string out(type);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// cpp-httplib 0.11 runs its own multipart parser inside the content reader whenever the request's
// Content-Type starts with "multipart/form-data" (Server::read_content_core), even for the
// single-receiver form, and that parser refuses bodies RFC 7578 allows. The Request is the
// server's own non-const object (handlers get it as const), so hiding the header while the body is
// read is defined behaviour; the library then hands over the raw bytes. Put back on scope exit.
class ContentTypeHidden {
 public:
  explicit ContentTypeHidden(const httplib::Request& req) : req_(const_cast<httplib::Request&>(req)) {
    const auto range = req_.headers.equal_range("Content-Type");  // case-insensitive keys
    saved_.assign(range.first, range.second);
    req_.headers.erase(range.first, range.second);
  }
  ~ContentTypeHidden() {
    for (auto& header : saved_) req_.headers.emplace(std::move(header));
  }
  ContentTypeHidden(const ContentTypeHidden&) = delete;
  ContentTypeHidden& operator=(const ContentTypeHidden&) = delete;

 private:
  httplib::Request& req_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

ErrorReply reply(int status, std::string type, std::string message) {
  return ErrorReply{status, std::move(type), std::move(message), std::nullopt};
}

std::string quoted_names(const std::vector<FormPart>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size() && i < 8; ++i) {
    out += (i ? ", '" : "'") + parts[i].name.substr(0, 64) + "'";
  }
  return parts.size() > 8 ? out + ", ..." : out;
}

}  // namespace

BodyType classify_content_type(std::string_view content_type) {
  const std::string type = lower_media_type(content_type);
  if (type == "multipart/form-data") return BodyType::Multipart;
  if (type.empty() || type == "application/octet-stream" || type.rfind("image/", 0) == 0 ||
      type == "application/x-www-form-urlencoded" || type == "text/plain") {
    return BodyType::Raw;
  }
  return BodyType::Unsupported;
}

UploadResult read_upload(const httplib::Request& req, const httplib::ContentReader& reader,
                         std::size_t max_body, const MultipartLimits& limits) {
  UploadResult result;
  const std::string content_type = req.get_header_value("Content-Type");
  const BodyType kind = classify_content_type(content_type);
  if (kind == BodyType::Unsupported) {
    result.error = reply(415, "unsupported_media_type",
                         "send the image as multipart/form-data part 'image', or as the raw body "
                         "(Content-Type image/*, application/octet-stream or none; got '" +
                             content_type.substr(0, 100) + "')");
    result.close = true;
    return result;
  }
  std::optional<MultipartParser> parser;
  if (kind == BodyType::Multipart) {
    const std::optional<std::string> boundary = multipart_boundary(content_type);
    if (!boundary) {
      result.error = reply(400, "invalid_multipart",
                           "the multipart/form-data Content-Type has no valid boundary parameter "
                           "(1 to 70 characters, RFC 2046)");
      result.close = true;
      return result;
    }
    MultipartLimits counted = limits;  // the parser counts every byte too (multipart.hpp)
    counted.max_total_bytes = std::min(limits.max_total_bytes, max_body);
    parser.emplace(*boundary, counted);
    result.upload.multipart = true;
  }

  std::size_t total = 0;
  bool over_limit = false;
  bool read_ok;
  {
    const ContentTypeHidden hidden(req);
    read_ok = reader([&](const char* data, std::size_t n) {
      total += n;
      if (total > max_body) {
        over_limit = true;
        return false;
      }
      if (parser) return parser->feed(std::string_view(data, n));
      result.upload.body.append(data, n);
      return true;
    });
  }
  if (over_limit || (parser && parser->over_total())) {
    result.error = reply(413, "body_too_large",
                         "the request body is over the limit of " + std::to_string(max_body) + " bytes");
    result.close = true;
    return result;
  }
  if (parser && (!parser->error().empty() || (read_ok && !parser->finish()))) {
    result.error = reply(400, "invalid_multipart", "multipart body: " + parser->error());
    result.close = !read_ok;  // a parse error stops the reading: the rest is unread
    return result;
  }
  if (!read_ok) {
    // A client that stopped sending (read timeout) or hung up: what is left of the body is unknown.
    result.error = reply(400, "bad_request", "the request body could not be read to its end");
    result.close = true;
    return result;
  }
  if (parser) result.upload.parts = parser->take_parts();
  return result;
}

std::string_view image_from(const Upload& upload, service::Parameters& parameters) {
  if (!upload.multipart) {
    if (upload.body.empty()) {
      throw Error(ErrorKind::InvalidArgument, "missing_image", "the request body is empty");
    }
    return upload.body;
  }
  const FormPart* image = nullptr;
  for (const FormPart& part : upload.parts) {
    if (part.name == "image" || part.name == "file") {
      if (image == nullptr) image = &part;
    } else if (!part.filename || part.filename->empty()) {
      parameters.emplace_back(part.name, part.content);
    } else {
      throw Error(ErrorKind::InvalidArgument, "unknown_parameter",
                  "unexpected file part '" + part.name.substr(0, 64) +
                      "' (send the image as part 'image')");
    }
  }
  if (image == nullptr) {
    throw Error(ErrorKind::InvalidArgument, "missing_image",
                "multipart body has no part named 'image' (or 'file'); " +
                    (upload.parts.empty() ? std::string("it has no parts")
                                          : "its parts: " + quoted_names(upload.parts)));
  }
  if (image->content.empty()) {
    throw Error(ErrorKind::InvalidArgument, "missing_image",
                "the multipart part '" + image->name + "' is empty (0 bytes)");
  }
  return image->content;
}

}  // namespace cutout::http
