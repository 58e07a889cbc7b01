# The API description (web/openapi.json, served at /openapi.json), included from tests/CMakeLists.txt.
# A real validator checks it against the OpenAPI 3.1 schema: @apidevtools/swagger-parser, put in
# .cache/npm-openapi by tests/openapi/install.sh (scripts/setup.sh --for-tests runs that). That it
# matches the server (parameters accepted and refused, every status and error type reachable) is
# tests/http/openapi_test.cpp, in cutout_http_tests.
find_program(CUTOUT_NODE node)
if(NOT CUTOUT_NODE)
  set(CUTOUT_NODE node)
endif()
add_test(NAME openapi_validate
  COMMAND ${CUTOUT_NODE} ${CMAKE_CURRENT_LIST_DIR}/validate.mjs
          --parser ${PROJECT_SOURCE_DIR}/.cache/npm-openapi ${PROJECT_SOURCE_DIR}/web/openapi.json)
set_tests_properties(openapi_validate PROPERTIES TIMEOUT 120)
