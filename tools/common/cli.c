#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

static void vreport(const char *tool, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", tool);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *tool, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(tool, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help'.\n", tool);
    return FP8_EXIT_USAGE;
}

int cli_input_error(const char *tool, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(tool, fmt, ap);
    va_end(ap);
    return FP8_EXIT_BAD_INPUT;
}
