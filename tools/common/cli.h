/* Shared conventions of the libfp8 tools: exit 0 on success, 1 on bad input
 * (a one-line reason on stderr), 2 on bad usage; numbers in the C locale. */
#ifndef FP8_TOOLS_CLI_H
#define FP8_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FP8_EXIT_OK 0
#define FP8_EXIT_BAD_INPUT 1
#define FP8_EXIT_USAGE 2
/* What option handlers return when the tool should go on. */
#define FP8_CONTINUE (-1)

/* Prints "<tool>: <message>" and a pointer to --help on stderr; returns FP8_EXIT_USAGE. */
int cli_usage_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "<tool>: <message>" on stderr; returns FP8_EXIT_BAD_INPUT. */
int cli_input_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A decimal number of at most 20 digits, nothing else. */
bool cli_parse_size(const char *s, uint64_t *v);

/* Splits the comma-separated `text` of `option` into at most `max` items,
 * calling parse(item, out, index) on each; false, after a usage message,
 * for an empty or unknown item or too many. */
bool cli_parse_list(const char *tool, const char *option, const char *text, size_t max, size_t *count,
                    bool (*parse)(const char *item, void *out, size_t index), void *out);

/* A tool's --csv and --json outputs ("-": stdout, for one of them at most). */
typedef struct cli_outputs {
    const char *csv_path, *json_path; /* NULL: not asked for */
    FILE *csv, *json;
} cli_outputs;

/* FP8_EXIT_USAGE, after a message, when both would go to stdout; else FP8_CONTINUE. */
int cli_outputs_check(const char *tool, const cli_outputs *o);
/* True when one of them goes to stdout (which then holds nothing else). */
bool cli_outputs_on_stdout(const cli_outputs *o);
/* Opens those asked for: FP8_CONTINUE, or FP8_EXIT_BAD_INPUT after a message. */
int cli_outputs_open(const char *tool, cli_outputs *o);
/* Closes them and flushes stdout. Returns status, or FP8_EXIT_BAD_INPUT after
 * a message when a write failed and status was FP8_CONTINUE. */
int cli_outputs_close(const char *tool, cli_outputs *o, int status);

#endif
