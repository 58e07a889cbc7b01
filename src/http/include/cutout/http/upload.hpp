#pragma once
// Reading /remove-background's body: the raw bytes through cpp-httplib's content reader (its own
// multipart parser never runs), into our multipart parser or as a raw upload, within the limits.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutout/http/error_response.hpp"
#include "cutout/http/multipart.hpp"
#include "cutout/service/request_options.hpp"

namespace httplib {
struct Request;
class ContentReader;
}  // namespace httplib

namespace cutout::http {

// How a request's declared Content-Type is taken. Raw bodies are judged by their bytes when the
// declared type says nothing about them: none, application/octet-stream, image/*, and the types
// clients put on a body by default (application/x-www-form-urlencoded from `curl --data-binary`,
// text/plain from fetch with a string or some HTTP libraries). Any other explicit type is refused.
enum class BodyType { Multipart, Raw, Unsupported };
BodyType classify_content_type(std::string_view content_type);

struct Upload {
  bool multipart = false;
  std::string body;             // a raw upload
  std::vector<FormPart> parts;  // or the multipart parts
};

struct UploadResult {
  Upload upload;
  std::optional<ErrorReply> error;  // 400 invalid_multipart / bad_request, 413, 415
  bool close = false;               // the body was not read to its end: close the connection
};

// Reads the body, at most max_body bytes of it (more is a 413), checking the Content-Type first
// (a 415 or a multipart type without a boundary is answered unread).
UploadResult read_upload(const httplib::Request& req, const httplib::ContentReader& reader,
                         std::size_t max_body, const MultipartLimits& limits = {});

// The image bytes of an upload: the raw body, or the first part named "image" or "file". The other
// multipart fields (no filename) are appended to `parameters`. Throws cutout::Error:
// missing_image (no such part, or empty: the message lists the part names the body did have),
// unknown_parameter (another file part).
std::string_view image_from(const Upload& upload, service::Parameters& parameters);

}  // namespace cutout::http
