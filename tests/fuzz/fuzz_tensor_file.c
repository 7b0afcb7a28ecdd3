/* libFuzzer harness for the tensor file parsers (tools/io), built once per
 * format with FUZZ_KIND set to TENSOR_FILE_NPY or TENSOR_FILE_SAFETENSORS.
 * Every input is parsed and, if valid, every tensor is loaded as the tools
 * would (FP8 weights with their scale_inv dequantized). Crashes, sanitizer
 * reports and broken invariants (a tensor lying outside the input) are
 * findings. */
#include <stdlib.h>

#include "io/tensor_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tensor_file tf;
    tensor_error err;
    if (tensor_file_open_memory(&tf, data, size, FUZZ_KIND, NULL, &err) != FP8_OK) return 0;
    for (size_t i = 0; i < tf.count; i++) {
        const tensor_entry *e = &tf.entries[i];
        const uint64_t bytes = e->dtype == DTYPE_OTHER ? 0 : e->count * tensor_dtype_size(e->dtype);
        if (e->offset > size || bytes > size - e->offset) __builtin_trap();
        float *x;
        bool dequantized;
        const fp8_status st = tensor_load_matrix(&tf, 1, 0, e, &x, &dequantized, &err);
        if (st != FP8_OK && st != FP8_ERR_FILE_FORMAT) __builtin_trap();
        free(x);
    }
    tensor_file_close(&tf);
    return 0;
}
