# The web chat page (web/, docs/web.md). `cmake --build <dir> --target web` runs `npm ci` (again only
# when package.json or package-lock.json change) and `npm run build`, which writes web/dist/ for
# `muse serve`. The target exists only when npm is found, and is part of the default build only with
# -DMUSE_BUILD_WEB=ON: the C++ build and its tests never need Node.
option(MUSE_BUILD_WEB "Build the web page (web/dist, needs npm) as part of the default build" OFF)

find_program(MUSE_NPM npm)
if(NOT MUSE_NPM)
  if(MUSE_BUILD_WEB)
    message(WARNING "MUSE_BUILD_WEB is ON but npm was not found: web/dist is not built "
                    "(scripts/install-deps.sh --web installs Node.js)")
  endif()
  return()
endif()

set(_web_dir ${CMAKE_SOURCE_DIR}/web)
file(GLOB_RECURSE _web_sources CONFIGURE_DEPENDS ${_web_dir}/src/*)
set(_web_stamp ${_web_dir}/node_modules/.package-lock.json)  # npm rewrites it on every install

add_custom_command(
  OUTPUT ${_web_stamp}
  COMMAND ${MUSE_NPM} ci --no-audit --no-fund
  DEPENDS ${_web_dir}/package.json ${_web_dir}/package-lock.json
  WORKING_DIRECTORY ${_web_dir}
  COMMENT "web: npm ci"
  VERBATIM)
add_custom_command(
  OUTPUT ${_web_dir}/dist/index.html ${_web_dir}/dist/app.js ${_web_dir}/dist/app.css
  COMMAND ${MUSE_NPM} run build
  DEPENDS ${_web_stamp} ${_web_sources} ${_web_dir}/build.mjs ${_web_dir}/index.html
  WORKING_DIRECTORY ${_web_dir}
  COMMENT "web: npm run build -> web/dist"
  VERBATIM)

if(MUSE_BUILD_WEB)
  set(_web_all ALL)
endif()
add_custom_target(web ${_web_all} DEPENDS ${_web_dir}/dist/index.html)
