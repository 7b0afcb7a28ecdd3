/* libfp8: status codes. Every fallible function returns one; results travel
 * through out-pointers. The library keeps no global error state and never
 * aborts or exits. */
#ifndef FP8_STATUS_H
#define FP8_STATUS_H

#include "fp8/api.h"

FP8_BEGIN_DECLS

/* The numeric values are stable across releases. */
typedef enum fp8_status {
    FP8_OK = 0,
    FP8_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, unknown enum value, bad shape: nothing written */
    FP8_ERR_UNSUPPORTED = 2,      /* valid request this build or machine cannot serve */
    FP8_ERR_OUT_OF_MEMORY = 3,
    FP8_ERR_NONFINITE = 4,        /* output fully written, but the input held NaN or Inf */
    FP8_ERR_NO_DEVICE = 5,        /* no usable CUDA device */
    FP8_ERR_CUDA = 6,             /* a CUDA runtime or library call failed */
    FP8_ERR_IO = 7,               /* a file could not be opened, read or written */
    FP8_ERR_FILE_FORMAT = 8       /* a file's contents are malformed */
} fp8_status;

/* A short English description ("invalid argument"); never NULL, also for
 * values this version does not know. Static storage, thread-safe. */
FP8_API const char *fp8_status_string(fp8_status s);

FP8_END_DECLS

#endif /* FP8_STATUS_H */
