# Compiler flags shared by every OpenMuse target (attached to the muse_options interface target).
add_library(muse_options INTERFACE)
target_compile_options(muse_options INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(MUSE_WERROR)
  target_compile_options(muse_options INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 gives false positives on std::vector/std::string moves at -O2/-O3.
  target_compile_options(muse_options INTERFACE -Wno-stringop-overflow -Wno-array-bounds -Wno-restrict -Wno-maybe-uninitialized)
endif()
target_compile_definitions(muse_options INTERFACE MUSE_SHARED_DATA="${MUSE_SHARED_DATA}")
if(MUSE_SANITIZE)
  target_compile_options(muse_options INTERFACE -fsanitize=${MUSE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(muse_options INTERFACE -fsanitize=${MUSE_SANITIZE})
endif()
target_link_libraries(muse_options INTERFACE Threads::Threads fmt::fmt)

# Kernels for one instruction set live in files named *_avx2.cpp / *_avx512.cpp; only those files are
# compiled for that ISA, and core/cpu.h picks the variant at run time, so the binary still runs on
# CPUs without AVX-512 (or without AVX2).
set(MUSE_AVX2_FLAGS -mavx2 -mfma -mf16c -mbmi2)
set(MUSE_AVX512_FLAGS ${MUSE_AVX2_FLAGS} -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16)

# Fuzz builds instrument every library for coverage; the fuzz targets themselves add -fsanitize=fuzzer.
if(MUSE_BUILD_FUZZ)
  target_compile_options(muse_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
