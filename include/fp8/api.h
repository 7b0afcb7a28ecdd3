/* libfp8: export and language-linkage macros shared by every public header. */
#ifndef FP8_API_H
#define FP8_API_H

/* FP8_API marks the public ABI. The shared library is built with
 * -fvisibility=hidden, so anything without it stays internal. */
#if defined(_WIN32) && !defined(FP8_STATIC)
#  if defined(FP8_BUILDING_LIBRARY)
#    define FP8_API __declspec(dllexport)
#  else
#    define FP8_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define FP8_API __attribute__((visibility("default")))
#else
#  define FP8_API
#endif

#ifdef __cplusplus
#  define FP8_BEGIN_DECLS extern "C" {
#  define FP8_END_DECLS }
#else
#  define FP8_BEGIN_DECLS
#  define FP8_END_DECLS
#endif

#endif /* FP8_API_H */
