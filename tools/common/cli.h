/* Shared conventions of the libfp8 tools: exit 0 on success, 1 on bad input
 * (a one-line reason on stderr), 2 on bad usage; numbers in the C locale. */
#ifndef FP8_TOOLS_CLI_H
#define FP8_TOOLS_CLI_H

#define FP8_EXIT_OK 0
#define FP8_EXIT_BAD_INPUT 1
#define FP8_EXIT_USAGE 2

/* Prints "<tool>: <message>" and a pointer to --help on stderr; returns FP8_EXIT_USAGE. */
int cli_usage_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "<tool>: <message>" on stderr; returns FP8_EXIT_BAD_INPUT. */
int cli_input_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
