/* A program outside the tree, built against the installed libfp8. */
#include <fp8.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    const float x[4] = {1.0f, -0.3f, 500.0f, 1e-9f};
    uint8_t q[4];
    float y[4];
    if (fp8_encode_f32(q, x, 4, FP8_E4M3, FP8_SATFINITE) != FP8_OK) return 1;
    if (fp8_decode_f32(y, q, 4, FP8_E4M3) != FP8_OK) return 1;
    /* 1.0 exact; -0.3 -> -0.3125; 500 saturates to 448; 1e-9 underflows to 0 */
    const float want[4] = {1.0f, -0.3125f, 448.0f, 0.0f};
    if (memcmp(y, want, sizeof y) != 0 || strcmp(fp8_version_string(), FP8_VERSION_STRING_FOR_TEST) != 0) return 1;
    printf("consumer ok: libfp8 %s\n", fp8_version_string());
    return 0;
}
