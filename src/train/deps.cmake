# Libraries muse_train links besides the modules it may use (included from src/CMakeLists.txt).
#  - OpenBLAS (optional): fp32 GEMMs; it beats our own AVX2 kernel (bench_train), so it is used when
#    present and the AVX2/scalar kernels are the fallback. pkg-config names the pthread variant's
#    headers, whose cblas.h declares openblas_set_num_threads.
#  - cairo (required): the loss-curve PNG of the SFT loop.
pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET openblas)
if(OPENBLAS_FOUND)
  target_link_libraries(muse_train PUBLIC PkgConfig::OPENBLAS)
  target_compile_definitions(muse_train PRIVATE MUSE_HAVE_OPENBLAS=1)
else()
  message(STATUS "OpenBLAS not found: training GEMMs use OpenMuse's own AVX2 kernel")
endif()
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
target_link_libraries(muse_train PUBLIC PkgConfig::CAIRO)
