#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool cli_parse_size(const char *s, uint64_t *v)
{
    const size_t len = strlen(s);
    if (len == 0 || len > 20 || strspn(s, "0123456789") != len) return false;
    errno = 0;
    *v = strtoull(s, NULL, 10);
    return errno == 0;
}

bool cli_parse_list(const char *tool, const char *option, const char *text, size_t max, size_t *count,
                    bool (*parse)(const char *item, void *out, size_t index), void *out)
{
    char item[128];
    const char *p = text;
    *count = 0;
    for (;;) {
        const size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || *count == max) {
            cli_usage_error(tool, "%s: bad list '%s'", option, text);
            return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse(item, out, (*count)++)) {
            cli_usage_error(tool, "%s: unknown value '%s'", option, item);
            return false;
        }
        if (p[len] == '\0') return true;
        p += len + 1;
    }
}
