/* Writing numbers and strings into the tools' text, CSV and JSON outputs, the
 * same way everywhere: C locale, FP64 values printed shortest-round-trip. */
#ifndef FP8_TOOLS_EMIT_H
#define FP8_TOOLS_EMIT_H

#include <stdbool.h>
#include <stdio.h>

/* The shortest of %.15g, %.16g, %.17g that reads back as v; non-finite
 * values as "inf", "-inf", "nan" (CSV, text) or null (JSON). */
void emit_number(FILE *f, double v, bool json);
/* A JSON string literal: quotes, escapes, invalid UTF-8 bytes as U+FFFD. */
void emit_json_string(FILE *f, const char *s);
/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
void emit_csv_field(FILE *f, const char *s);

#endif
