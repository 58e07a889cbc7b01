#include "support/fixtures.hpp"

namespace cutout::testing {

std::string fixture_path(const std::string& name) { return std::string(CUTOUT_FIXTURE_DIR) + "/" + name; }

}  // namespace cutout::testing
