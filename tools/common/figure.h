/* A figure of fp8-report, kept apart from its plotting: the data as a table
 * with a header (written as NAME.csv, and as NAME.json with the title and
 * any extra members), a gnuplot script that draws it from the CSV
 * (NAME.gp, which writes NAME.png and NAME.svg when run in the same
 * folder), and gnuplot run on it. Numbers are written shortest-round-trip
 * in the C locale; gnuplot runs with LC_ALL=C. */
#ifndef FP8_TOOLS_FIGURE_H
#define FP8_TOOLS_FIGURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct figure_cell {
    char *text; /* NULL for a number */
    double number;
} figure_cell;

typedef struct figure {
    char name[64];      /* the files' base name */
    char title[200];
    const char *const *columns;
    size_t ncols;
    figure_cell *cells; /* row-major */
    size_t ncells, cap;
    unsigned width, height; /* of the images, in pixels */
    FILE *script;       /* the plotting commands (figure_script) */
    char *script_text;
    size_t script_len;
    FILE *json_extra;   /* more members for NAME.json, each written as `, "key": value` */
    char *json_extra_text;
    size_t json_extra_len;
} figure;

/* Starts an empty figure; false when out of memory. */
bool figure_init(figure *f, const char *name, const char *title, const char *const *columns, size_t ncols,
                 unsigned width, unsigned height);
void figure_free(figure *f);

/* Appends one cell; rows fill left to right. False when out of memory. */
bool figure_text(figure *f, const char *text);
bool figure_number(figure *f, double v);
size_t figure_rows(const figure *f);

/* The stream the caller writes the gnuplot plotting commands into: what is
 * drawn once per terminal (set commands, multiplot, plot ...), reading
 * NAME.csv (figure_csv_name) with `skip 1`. */
FILE *figure_script(figure *f);
/* The stream for extra JSON members (`, "key": value`). */
FILE *figure_json(figure *f);

/* Writes NAME.csv, NAME.json and NAME.gp into dir; false with the reason in why. */
bool figure_write(figure *f, const char *dir, const char *tool_line, char *why, size_t why_cap);

/* A gnuplot string literal: single-quoted, quotes doubled. */
void gp_string(FILE *out, const char *s);

/* gnuplot's path from PATH, into path; false when it is not there. */
bool gnuplot_find(char *path, size_t cap);
/* Runs gnuplot on `script` in `dir` with LC_ALL=C, its output kept from the
 * terminal; false, with gnuplot's first complaint in why, if it fails. */
bool gnuplot_run(const char *gnuplot, const char *dir, const char *script, char *why, size_t why_cap);

/* Text for an HTML page: & < > " ' escaped. */
void html_text(FILE *out, const char *s);

#endif
