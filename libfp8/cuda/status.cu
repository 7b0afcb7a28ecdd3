/* libfp8: CUDA devices and the per-thread error text (fp8/cuda.h). The text
 * lives in thread-local storage: each thread sees its own last failure and
 * no state is shared between threads. */
#include <stdio.h>

#include "cuda/common.cuh"

namespace {

thread_local char last_error[512];

bool is_missing_device(cudaError_t e)
{
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorStubLibrary ||
           e == cudaErrorDevicesUnavailable || e == cudaErrorSystemDriverMismatch ||
           e == cudaErrorCompatNotSupportedOnDevice;
}

} // namespace

namespace fp8_cuda {

fp8_status fail_text(fp8_status status, const char *what, const char *detail)
{
    snprintf(last_error, sizeof last_error, "%s: %s", what, detail);
    return status;
}

fp8_status fail(cudaError_t e, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    return fail_text(is_missing_device(e) ? FP8_ERR_NO_DEVICE : FP8_ERR_CUDA, what, detail);
}

fp8_status launched(const char *kernel)
{
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? FP8_OK : fail(e, kernel);
}

} // namespace fp8_cuda

extern "C" const char *fp8_cuda_last_error(void) { return last_error; }

extern "C" fp8_status fp8_cuda_device_count(int *count)
{
    FP8_RETURN_IF(count == NULL, FP8_ERR_INVALID_ARGUMENT);
    *count = 0;
    int devices = 0;
    FP8_CUDA_TRY(cudaGetDeviceCount(&devices));
    int usable = 0, best_major = 0, best_minor = 0;
    for (int d = 0; d < devices; d++) {
        int major = 0, minor = 0;
        FP8_CUDA_TRY(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d));
        FP8_CUDA_TRY(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d));
        if (major * 10 + minor >= 89) usable++;
        if (major * 10 + minor > best_major * 10 + best_minor) best_major = major, best_minor = minor;
    }
    if (usable == 0) {
        char detail[96];
        if (devices == 0)
            snprintf(detail, sizeof detail, "no CUDA device");
        else
            snprintf(detail, sizeof detail, "%d CUDA device(s), none of compute capability 8.9 or newer (best: %d.%d)",
                     devices, best_major, best_minor);
        return fp8_cuda::fail_text(FP8_ERR_NO_DEVICE, "fp8_cuda_device_count", detail);
    }
    *count = usable;
    return FP8_OK;
}
