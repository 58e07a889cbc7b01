#pragma once
// The parameters of /remove-background, whether they came as query parameters or form fields.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cutout/imaging/compose.hpp"
#include "cutout/imaging/encode.hpp"
#include "cutout/service/geometry_options.hpp"

namespace cutout::service {

enum class OutputKind { Rgba, Mask };

struct RemoveBackgroundOptions {
  OutputKind output = OutputKind::Rgba;
  std::optional<imaging::Rgb> background;  // bg_color: flatten instead of transparency
  imaging::OutputFormat format = imaging::OutputFormat::Png;
  bool format_given = false;  // format= was sent; else the HTTP layer negotiates it from Accept
  GeometryOptions geometry;   // crop, crop_margin, max_side
  // foreground=estimate|raw: the colour under partial alpha (rgba and bg_color outputs).
  imaging::ForegroundColour foreground = imaging::ForegroundColour::Estimate;
  // Asked inside the inference queue's turn, just before the forward pass: true when the client
  // has gone, and the request is dropped (ErrorKind::ClientGone) instead of run. Empty: never gone.
  std::function<bool()> client_gone;
};

using Parameters = std::vector<std::pair<std::string, std::string>>;

// Throws cutout::Error (InvalidArgument): "unknown_parameter" for a name we do not know (a typo
// should not be silently ignored), "invalid_parameter" for a bad value or a contradiction such
// as format=jpeg for a transparent result.
RemoveBackgroundOptions parse_remove_background_options(const Parameters& parameters);

// True when the result has an alpha channel (output=rgba without bg_color): JPEG cannot carry it.
bool has_alpha(const RemoveBackgroundOptions& options);

}  // namespace cutout::service
