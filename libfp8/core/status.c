/* libfp8: status strings. */
#include <stddef.h>

#include "fp8/status.h"

static const char *const status_strings[] = {
    [FP8_OK] = "ok",
    [FP8_ERR_INVALID_ARGUMENT] = "invalid argument",
    [FP8_ERR_UNSUPPORTED] = "unsupported",
    [FP8_ERR_OUT_OF_MEMORY] = "out of memory",
    [FP8_ERR_NONFINITE] = "input holds NaN or infinity",
    [FP8_ERR_NO_DEVICE] = "no CUDA device",
    [FP8_ERR_CUDA] = "CUDA error",
    [FP8_ERR_IO] = "I/O error",
    [FP8_ERR_FILE_FORMAT] = "malformed file",
};

const char *fp8_status_string(fp8_status s)
{
    if ((unsigned)s < sizeof status_strings / sizeof status_strings[0] && status_strings[s] != NULL)
        return status_strings[s];
    return "unknown status";
}
