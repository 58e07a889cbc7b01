#pragma once
// The project's one error type. Every layer throws cutout::Error for failures a client can cause or
// needs to hear about; the HTTP layer maps ErrorKind to a status in one place (http/error_response).

#include <stdexcept>
#include <string>

namespace cutout {

enum class ErrorKind {
  InvalidArgument,       // 400: a bad parameter or an image that does not decode
  PayloadTooLarge,       // 413: body or pixel count over the limits
  UnsupportedMediaType,  // 415: not an image type we decode
  NotAcceptable,         // 406: no output format the client's Accept admits
  NotReady,              // 503: the model is still loading
  ModelFailed,           // 503: the model failed to load; this instance will not serve
  Overloaded,            // 503: the inference queue is full
  Internal,              // 500: everything else
  ShuttingDown,          // 503: the server is stopping; send the request again (to another instance)
  ClientGone,            // the client closed its connection: nothing is sent (logged as 499)
};

class Error : public std::runtime_error {
 public:
  // `type` is a short machine-readable code such as "invalid_image" that clients can switch on.
  Error(ErrorKind kind, std::string type, const std::string& message)
      : std::runtime_error(message), kind_(kind), type_(std::move(type)) {}
  // `detail` is for the log only (a library's message, a backtrace); the client sees `message`.
  Error(ErrorKind kind, std::string type, const std::string& message, std::string detail)
      : std::runtime_error(message), kind_(kind), type_(std::move(type)), detail_(std::move(detail)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& type() const noexcept { return type_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorKind kind_;
  std::string type_;
  std::string detail_;
};

}  // namespace cutout
