#define _POSIX_C_SOURCE 200809L /* open_memstream, fork, execv */
#include "figure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/emit.h"

bool figure_init(figure *f, const char *name, const char *title, const char *const *columns, size_t ncols,
                 unsigned width, unsigned height)
{
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->title, sizeof f->title, "%s", title);
    f->columns = columns;
    f->ncols = ncols;
    f->width = width;
    f->height = height;
    f->script = open_memstream(&f->script_text, &f->script_len);
    f->json_extra = open_memstream(&f->json_extra_text, &f->json_extra_len);
    return f->script && f->json_extra;
}

void figure_free(figure *f)
{
    for (size_t i = 0; i < f->ncells; i++) free(f->cells[i].text);
    free(f->cells);
    if (f->script) fclose(f->script);
    if (f->json_extra) fclose(f->json_extra);
    free(f->script_text);
    free(f->json_extra_text);
    memset(f, 0, sizeof *f);
}

static bool append(figure *f, figure_cell c)
{
    if (f->ncells == f->cap) {
        const size_t cap = 2 * f->cap + 64;
        figure_cell *cells = realloc(f->cells, cap * sizeof *cells);
        if (!cells) return false;
        f->cells = cells;
        f->cap = cap;
    }
    f->cells[f->ncells++] = c;
    return true;
}

bool figure_text(figure *f, const char *text)
{
    char *copy = strdup(text);
    if (!copy || !append(f, (figure_cell){copy, 0})) {
        free(copy);
        return false;
    }
    return true;
}

bool figure_number(figure *f, double v) { return append(f, (figure_cell){NULL, v}); }

size_t figure_rows(const figure *f) { return f->ncells / f->ncols; }

FILE *figure_script(figure *f) { return f->script; }
FILE *figure_json(figure *f) { return f->json_extra; }

static void write_csv(const figure *f, FILE *out)
{
    for (size_t c = 0; c < f->ncols; c++) {
        if (c) fputc(',', out);
        emit_csv_field(out, f->columns[c]);
    }
    fputc('\n', out);
    for (size_t i = 0; i < f->ncells; i++) {
        if (f->cells[i].text)
            emit_csv_field(out, f->cells[i].text);
        else
            emit_number(out, f->cells[i].number, false);
        fputc((i + 1) % f->ncols ? ',' : '\n', out);
    }
}

static void write_json(const figure *f, FILE *out, const char *tool_line)
{
    fputs("{\"figure\": ", out);
    emit_json_string(out, f->name);
    fputs(", \"title\": ", out);
    emit_json_string(out, f->title);
    fputs(", \"made_by\": ", out);
    emit_json_string(out, tool_line);
    fputs(",\n \"columns\": [", out);
    for (size_t c = 0; c < f->ncols; c++) {
        if (c) fputs(", ", out);
        emit_json_string(out, f->columns[c]);
    }
    fputs("],\n \"rows\": [", out);
    for (size_t i = 0; i < f->ncells; i++) {
        if (i % f->ncols == 0) fputs(i ? "],\n  [" : "\n  [", out);
        else fputs(", ", out);
        if (f->cells[i].text)
            emit_json_string(out, f->cells[i].text);
        else
            emit_number(out, f->cells[i].number, true);
    }
    fputs(f->ncells ? "]]" : "]", out);
    fwrite(f->json_extra_text, 1, f->json_extra_len, out);
    fputs("}\n", out);
}

/* The script: how to run it, then the plotting commands once per terminal. */
static void write_gp(const figure *f, FILE *out, const char *tool_line)
{
    fprintf(out, "# %s.gp: ", f->name);
    for (const char *p = f->title; *p; p++) fputc(*p == '\n' ? ' ' : *p, out);
    fprintf(out, "\n# from %s.csv, made by %s.\n# In this folder: gnuplot %s.gp  (writes %s.png and %s.svg)\n", f->name,
            tool_line, f->name, f->name, f->name);
    fputs("do for [image in 'png svg'] {\n"
          "    reset\n"
          "    set datafile separator ','\n",
          out);
    fprintf(out,
            "    if (image eq 'png') {\n"
            "        set terminal pngcairo size %u,%u noenhanced font 'sans,10'\n"
            "    } else {\n"
            "        set terminal svg size %u,%u noenhanced font 'sans,10' background rgb 'white'\n"
            "    }\n"
            "    set output '%s.'.image\n",
            f->width, f->height, f->width, f->height, f->name);
    fwrite(f->script_text, 1, f->script_len, out);
    fputs("    set output\n}\n", out);
}

static bool write_file(const figure *f, const char *dir, const char *ext, const char *tool_line, char *why,
                       size_t why_cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, f->name, ext);
    FILE *out = fopen(path, "w");
    if (!out) {
        snprintf(why, why_cap, "cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    if (strcmp(ext, "csv") == 0) write_csv(f, out);
    else if (strcmp(ext, "json") == 0) write_json(f, out, tool_line);
    else write_gp(f, out, tool_line);
    if (fclose(out) != 0) {
        snprintf(why, why_cap, "cannot write '%s'", path);
        return false;
    }
    return true;
}

bool figure_write(figure *f, const char *dir, const char *tool_line, char *why, size_t why_cap)
{
    if (fflush(f->script) != 0 || fflush(f->json_extra) != 0) {
        snprintf(why, why_cap, "out of memory");
        return false;
    }
    return write_file(f, dir, "csv", tool_line, why, why_cap) && write_file(f, dir, "json", tool_line, why, why_cap) &&
           write_file(f, dir, "gp", tool_line, why, why_cap);
}

void gp_string(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
    fputc('\'', out);
}

bool gnuplot_find(char *path, size_t cap)
{
    const char *dirs = getenv("PATH");
    if (!dirs) return false;
    for (const char *p = dirs;;) {
        const size_t len = strcspn(p, ":");
        struct stat st;
        /* an empty entry is the current directory */
        snprintf(path, cap, "%.*s%sgnuplot", (int)len, p, len ? "/" : "./");
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0) return true;
        if (p[len] == '\0') return false;
        p += len + 1;
    }
}

bool gnuplot_run(const char *gnuplot, const char *dir, const char *script, char *why, size_t why_cap)
{
    int err_pipe[2];
    if (pipe(err_pipe) != 0) {
        snprintf(why, why_cap, "cannot start gnuplot: %s", strerror(errno));
        return false;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        close(err_pipe[0]);
        close(err_pipe[1]);
        snprintf(why, why_cap, "cannot start gnuplot: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        const int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        dup2(err_pipe[1], STDERR_FILENO);
        close(err_pipe[0]);
        close(err_pipe[1]);
        if (chdir(dir) != 0) _exit(126);
        setenv("LC_ALL", "C", 1);
        execl(gnuplot, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    close(err_pipe[1]);
    /* gnuplot's complaints: kept for the reason, never shown otherwise (warnings included) */
    char complaint[1024];
    size_t kept = 0;
    ssize_t got;
    char chunk[4096];
    while ((got = read(err_pipe[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR)) {
        for (ssize_t k = 0; k < got && kept + 1 < sizeof complaint; k++) complaint[kept++] = chunk[k];
    }
    close(err_pipe[0]);
    complaint[kept] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    /* the last non-empty line says what went wrong */
    char *line = complaint, *last = NULL;
    for (char *next; (next = strchr(line, '\n')); line = next + 1) {
        *next = '\0';
        if (*line) last = line;
    }
    if (*line) last = line;
    snprintf(why, why_cap, "gnuplot failed on %s in %s (%s%d)%s%s", script, dir,
             WIFEXITED(status) ? "exit " : "signal ", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
             last ? ": " : "", last ? last : "");
    return false;
}

void html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}
