# Script mode (cmake -P): writes a C++ source holding the demo page's files as byte arrays, so the
# server never reads files while answering requests.
#   cmake -DWEB_DIR=<dir> -DOUT=<file.cpp> -DFILES="a.html;b.js" -P embed_web_assets.cmake
cmake_minimum_required(VERSION 3.18)

function(content_type_of name out)
  get_filename_component(ext "${name}" LAST_EXT)
  string(TOLOWER "${ext}" ext)
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(ext STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".json")
    set(type "application/json")
  elseif(ext STREQUAL ".svg")
    set(type "image/svg+xml")
  elseif(ext STREQUAL ".png")
    set(type "image/png")
  else()
    message(FATAL_ERROR "embed_web_assets: no content type known for ${name}")
  endif()
  set(${out} "${type}" PARENT_SCOPE)
endfunction()

set(arrays "")
set(entries "")
set(index 0)
foreach(name IN LISTS FILES)
  file(READ "${WEB_DIR}/${name}" hex HEX)
  file(SHA256 "${WEB_DIR}/${name}" digest)
  string(SUBSTRING "${digest}" 0 16 etag)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # Line breaks every 24 bytes keep the generated file readable by tools.
  string(REGEX REPLACE "((0x..,){24})" "\\1\n    " bytes "${bytes}")
  content_type_of("${name}" type)
  if(name STREQUAL "index.html")
    set(path "/")
  else()
    set(path "/${name}")
  endif()
  string(APPEND arrays "// ${name}\nconst unsigned char k${index}[${size} + 1] = {\n    ${bytes}0};\n")
  string(APPEND entries
    "      {\"${path}\", \"${type}\", \"\\\"${etag}\\\"\",\n"
    "       std::string_view(reinterpret_cast<const char*>(k${index}), ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()

set(content "// Generated at build time by src/http/embed_web_assets.cmake from web/. Do not edit.
#include \"cutout/http/web_assets.hpp\"

namespace cutout::http {
namespace {

${arrays}
}  // namespace

const std::vector<WebAsset>& web_assets() {
  static const std::vector<WebAsset> assets = {
${entries}  };
  return assets;
}

}  // namespace cutout::http
")
file(WRITE "${OUT}" "${content}")
