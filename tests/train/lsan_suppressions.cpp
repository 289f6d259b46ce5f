// LeakSanitizer suppressions for muse_train_tests: fontconfig (reached through cairo's text drawing in
// the loss plot) keeps process-lifetime caches that it never frees; they are not our leaks, and a
// suppression beats calling FcFini/cairo_debug_reset_static_data, which would break any other cairo
// user in the process. The sanitizer runtime calls this hook by name; other builds ignore it.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
