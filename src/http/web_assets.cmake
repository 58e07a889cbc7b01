# The demo page (web/) compiled into the library: a C++ source generated from the files at build
# time (src/http/embed_web_assets.cmake). Sets CUTOUT_WEB_SOURCES.
set(CUTOUT_WEB_FILES index.html app.css app.js)
set(CUTOUT_WEB_DIR ${CMAKE_CURRENT_SOURCE_DIR}/web)
set(CUTOUT_WEB_GENERATED ${CMAKE_CURRENT_BINARY_DIR}/generated/web_assets_data.cpp)
set(_web_inputs "")
foreach(name IN LISTS CUTOUT_WEB_FILES)
  list(APPEND _web_inputs ${CUTOUT_WEB_DIR}/${name})
endforeach()
add_custom_command(
  OUTPUT ${CUTOUT_WEB_GENERATED}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${CUTOUT_WEB_DIR} -DOUT=${CUTOUT_WEB_GENERATED}
          "-DFILES=${CUTOUT_WEB_FILES}" -P ${CMAKE_CURRENT_SOURCE_DIR}/src/http/embed_web_assets.cmake
  DEPENDS ${_web_inputs} ${CMAKE_CURRENT_SOURCE_DIR}/src/http/embed_web_assets.cmake
  COMMENT "Embedding the demo page (web/)"
  VERBATIM)
set(CUTOUT_WEB_SOURCES src/http/web_page.cpp ${CUTOUT_WEB_GENERATED})
