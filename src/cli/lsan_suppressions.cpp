// LeakSanitizer suppressions for the muse binary (the ASan build runs it from the CLI tests):
// fontconfig, reached through cairo's text drawing when `muse train` plots the loss curve, keeps
// process-lifetime caches it never frees. They are not our leaks; calling FcFini or
// cairo_debug_reset_static_data at exit would be riskier than naming them here. The sanitizer
// runtime calls this hook by name; other builds ignore it. tests/train/lsan_suppressions.cpp is the
// same hook for muse_train_tests.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
