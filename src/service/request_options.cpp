#include "cutout/service/request_options.hpp"

#include <cctype>

#include "cutout/core/error.hpp"

namespace cutout::service {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, "invalid_parameter", message);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

imaging::Rgb parse_color(std::string text) {
  if (!text.empty() && text[0] == '#') text.erase(0, 1);
  if (text.size() != 6) invalid("bg_color must be RRGGBB hex, e.g. bg_color=ffffff");
  std::uint8_t channel[3];
  for (int i = 0; i < 3; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) invalid("bg_color must be RRGGBB hex, e.g. bg_color=ffffff");
    channel[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return imaging::Rgb{channel[0], channel[1], channel[2]};
}

}  // namespace

RemoveBackgroundOptions parse_remove_background_options(const Parameters& parameters) {
  RemoveBackgroundOptions options;
  bool& format_given = options.format_given;
  for (const auto& [name, value] : parameters) {
    if (name == "output") {
      if (value == "rgba") {
        options.output = OutputKind::Rgba;
      } else if (value == "mask") {
        options.output = OutputKind::Mask;
      } else {
        invalid("output must be rgba or mask, not '" + value + "'");
      }
    } else if (name == "bg_color") {
      options.background = parse_color(value);
    } else if (name == "format") {
      format_given = true;
      if (value == "png") {
        options.format = imaging::OutputFormat::Png;
      } else if (value == "webp") {
        options.format = imaging::OutputFormat::Webp;
      } else if (value == "jpeg" || value == "jpg") {
        options.format = imaging::OutputFormat::Jpeg;
      } else {
        invalid("format must be png, webp or jpeg, not '" + value + "'");
      }
    } else if (name == "foreground") {
      if (value == "estimate") {
        options.foreground = imaging::ForegroundColour::Estimate;
      } else if (value == "raw") {
        options.foreground = imaging::ForegroundColour::Raw;
      } else {
        invalid("foreground must be estimate or raw, not '" + value + "'");
      }
    } else if (!parse_geometry_parameter(name, value, options.geometry)) {
      throw Error(ErrorKind::InvalidArgument, "unknown_parameter",
                  "unknown parameter '" + name +
                      "' (known: output, bg_color, format, foreground, crop, crop_margin, max_side)");
    }
  }
  if (options.background && options.output == OutputKind::Mask) {
    invalid("bg_color applies to output=rgba, not to output=mask");
  }
  check_geometry(options.geometry);
  if (format_given && options.format == imaging::OutputFormat::Jpeg && has_alpha(options)) {
    invalid("format=jpeg has no alpha channel: use png or webp, or give bg_color");
  }
  return options;
}

bool has_alpha(const RemoveBackgroundOptions& options) {
  return options.output == OutputKind::Rgba && !options.background;
}

}  // namespace cutout::service
