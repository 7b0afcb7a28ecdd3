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

static bool is_stdout(const char *path) { return path && strcmp(path, "-") == 0; }

int cli_outputs_check(const char *tool, const cli_outputs *o)
{
    if (is_stdout(o->csv_path) && is_stdout(o->json_path))
        return cli_usage_error(tool, "--csv and --json cannot both go to stdout");
    return FP8_CONTINUE;
}

bool cli_outputs_on_stdout(const cli_outputs *o) { return is_stdout(o->csv_path) || is_stdout(o->json_path); }

int cli_outputs_open(const char *tool, cli_outputs *o)
{
    const char *paths[2] = {o->csv_path, o->json_path};
    FILE **files[2] = {&o->csv, &o->json};
    for (int k = 0; k < 2; k++) {
        if (!paths[k]) continue;
        *files[k] = is_stdout(paths[k]) ? stdout : fopen(paths[k], "w");
        if (!*files[k]) return cli_input_error(tool, "cannot write '%s'", paths[k]);
    }
    return FP8_CONTINUE;
}

int cli_outputs_close(const char *tool, cli_outputs *o, int status)
{
    const char *paths[2] = {o->csv_path, o->json_path};
    FILE **files[2] = {&o->csv, &o->json};
    for (int k = 0; k < 2; k++) {
        if (*files[k] && *files[k] != stdout && fclose(*files[k]) != 0 && status < 0)
            status = cli_input_error(tool, "cannot write '%s'", paths[k]);
        *files[k] = NULL;
    }
    if (status < 0 && fflush(stdout) != 0) status = cli_input_error(tool, "cannot write the output");
    return status;
}
