/* libfp8: version of the headers, and of the library actually loaded. */
#ifndef FP8_VERSION_H
#define FP8_VERSION_H

#include "fp8/api.h"

#define FP8_VERSION_MAJOR 0
#define FP8_VERSION_MINOR 1
#define FP8_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, comparable with fp8_version_number(). */
#define FP8_VERSION_NUMBER (FP8_VERSION_MAJOR * 10000 + FP8_VERSION_MINOR * 100 + FP8_VERSION_PATCH)

FP8_BEGIN_DECLS

/* Version of the loaded library; compare with FP8_VERSION_NUMBER to detect a
 * header/library mismatch. Thread-safe. */
FP8_API unsigned fp8_version_number(void);
/* "MAJOR.MINOR.PATCH" of the loaded library; static storage. Thread-safe. */
FP8_API const char *fp8_version_string(void);

FP8_END_DECLS

#endif /* FP8_VERSION_H */
