/* libfp8: run-time version. */
#include "fp8/version.h"

#define FP8_STR2(x) #x
#define FP8_STR(x) FP8_STR2(x)

unsigned fp8_version_number(void) { return FP8_VERSION_NUMBER; }

const char *fp8_version_string(void)
{
    return FP8_STR(FP8_VERSION_MAJOR) "." FP8_STR(FP8_VERSION_MINOR) "." FP8_STR(FP8_VERSION_PATCH);
}
