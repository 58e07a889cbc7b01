# The demo page in a real browser (issue 8), included from tests/CMakeLists.txt. (The start-up
# progress arithmetic and the embedded page have their units in cutout_unit_tests and
# cutout_http_tests.)

# Debian's chromium driven by playwright-core (tests/browser/install.sh puts it in
# .cache/npm-playwright; scripts/setup.sh --for-tests runs that) against cutout-server on loopback
# with the slow fixture model, so the page has start-up phases to show. A missing node, chromium
# or playwright-core is a failure that names the fix, not a skip.
find_program(CUTOUT_NODE node)
if(NOT CUTOUT_NODE)
  set(CUTOUT_NODE node)
endif()
add_test(NAME browser_demo_page
  COMMAND ${CUTOUT_NODE} ${CMAKE_CURRENT_LIST_DIR}/demo_page.mjs
          --server $<TARGET_FILE:cutout-server>
          --model ${CUTOUT_FIXTURE_DIR}/slow_start.pt
          --failed-model ${CUTOUT_FIXTURE_DIR}/not_torchscript.pt
          --playwright ${PROJECT_SOURCE_DIR}/.cache/npm-playwright
          --screenshot ${CMAKE_CURRENT_BINARY_DIR}/browser/demo_page.png)
set_tests_properties(browser_demo_page PROPERTIES TIMEOUT 300)
