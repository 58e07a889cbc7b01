#pragma once
// Paths of the test models, made at build time by tests/fixtures/make_models.py. The directory
// comes from CMake, never from the working directory.

#include <string>

namespace cutout::testing {

std::string fixture_path(const std::string& name);

}  // namespace cutout::testing
