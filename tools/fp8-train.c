/* fp8-train: trains one character-level language model (train/model.h) from
 * the same seed in FP32, BF16 and each FP8 recipe of fp8/linear.h, and says
 * how far each recipe's final validation loss lands from BF16's. */
#define _POSIX_C_SOURCE 200809L /* fork, execvp, mkdir */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cli.h"
#include "fp8.h"
#include "train/run.h"

static const char *const tool = "fp8-train";

/* DeepSeek-V3 reports its FP8 training loss within 0.25% of BF16's. */
#define GOAL_PERCENT 0.25
#define RECIPE_COUNT 7

/* The text when --text is not given: the build tree's, then the installed copy. */
#ifndef FP8_TRAIN_TEXT_PATHS
#define FP8_TRAIN_TEXT_PATHS ""
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: fp8-train [OPTION]...\n"
            "Trains a character-level MLP language model (context -> embedding -> GELU hidden layers ->\n"
            "softmax) from one seed with each recipe of libfp8's linear layers, writes the loss curves\n"
            "(loss.csv, loss.gp, loss.png, loss.svg, summary.csv) and compares each final validation\n"
            "loss with BF16's (goal: DeepSeek recipe within %.2f%%). See docs/training.md.\n"
            "\n"
            "  --text FILE        training text (default: the King James Bible made at build time)\n"
            "  --out DIR          output folder, created if missing (default: fp8-train-out)\n"
            "  --recipes LIST     comma-separated, from fp32,bf16,deepseek,tensor,delayed,rowwise,mx\n"
            "                     (default: all)\n"
            "  --steps N          optimizer steps (default 600)\n"
            "  --batch N          tokens per step (default 256)\n"
            "  --layers N         hidden layers, 1..%d (default 2)\n"
            "  --hidden N         units per hidden layer (default 512)\n"
            "  --context N        characters of context (default 8)\n"
            "  --embed N          embedding width per character (default 32)\n"
            "  --lr X             peak AdamW learning rate (default 2e-3)\n"
            "  --eval-every N     steps between validation points (default 50)\n"
            "  --eval-tokens N    fixed validation positions (default 8192)\n"
            "  --seed N           weights and batch order (default 1)\n"
            "  --threads N        threads of the library's GEMMs (default 1: see docs/training.md)\n"
            "  --no-plot          write the gnuplot script but do not run gnuplot\n"
            "  --version, --help\n"
            "Exit status: 0 the runs finished (a diverged recipe or a missed goal is reported, not an\n"
            "error), 1 bad input (unreadable text, cannot write the output), 2 bad usage.\n",
            GOAL_PERCENT, MODEL_MAX_LAYERS);
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) return -1;
    *out = (size_t)v;
    return 0;
}

/* "fp32,bf16" -> recipes in the order given; duplicates are an error. */
static int parse_recipes(const char *list, fp8_linear_recipe *out, size_t *n)
{
    char buf[256];
    if (strlen(list) >= sizeof buf) return -1;
    strcpy(buf, list);
    *n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        fp8_linear_recipe r;
        if (fp8_linear_recipe_from_name(tok, &r) != FP8_OK || *n == RECIPE_COUNT) return -1;
        for (size_t i = 0; i < *n; i++)
            if (out[i] == r) return -1;
        out[(*n)++] = r;
    }
    return *n ? 0 : -1;
}

static const char *default_text(void)
{
    static char path[4096];
    const char *list = FP8_TRAIN_TEXT_PATHS;
    while (*list) {
        const char *colon = strchr(list, ':');
        const size_t len = colon ? (size_t)(colon - list) : strlen(list);
        if (len < sizeof path) {
            memcpy(path, list, len);
            path[len] = '\0';
            if (access(path, R_OK) == 0) return path;
        }
        list += len + (colon != NULL);
    }
    return NULL;
}

/* Percent by which a's final loss exceeds b's; NaN when either diverged. */
static double percent_vs(const run_result *a, const run_result *b)
{
    return a->diverged || b->diverged ? NAN : 100.0 * (a->final_val_loss / b->final_val_loss - 1.0);
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t path_len)
{
    snprintf(path, path_len, "%s/%s", dir, name);
    return fopen(path, "w");
}

/* Wide CSV: one row per validation point, train_ and val_ columns per recipe. */
static int write_csv(const char *dir, const fp8_linear_recipe *rec, const run_result *res, size_t n)
{
    char path[4200];
    FILE *f = open_out(dir, "loss.csv", path, sizeof path);
    if (!f) return -1;
    fprintf(f, "step,lr");
    for (size_t i = 0; i < n; i++)
        fprintf(f, ",train_%s,val_%s", fp8_linear_recipe_name(rec[i]), fp8_linear_recipe_name(rec[i]));
    fputc('\n', f);
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) rows = res[i].count > rows ? res[i].count : rows;
    for (size_t p = 0; p < rows; p++) {
        const run_point *ref = NULL;
        for (size_t i = 0; i < n && !ref; i++)
            if (p < res[i].count) ref = &res[i].points[p];
        fprintf(f, "%zu,%.6g", ref->step, ref->lr);
        for (size_t i = 0; i < n; i++) {
            if (p < res[i].count && isfinite(res[i].points[p].train_loss))
                fprintf(f, ",%.6f", res[i].points[p].train_loss);
            else
                fputc(',', f);
            if (p < res[i].count && isfinite(res[i].points[p].val_loss))
                fprintf(f, ",%.6f", res[i].points[p].val_loss);
            else
                fputc(',', f);
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Two panels: validation loss per recipe; each recipe's difference from BF16
 * in percent with the goal band. The script renders both PNG and SVG. */
static int write_gnuplot(const char *dir, const fp8_linear_recipe *rec, size_t n, int bf16_index,
                         const char *title)
{
    char path[4200];
    FILE *f = open_out(dir, "loss.gp", path, sizeof path);
    if (!f) return -1;
    fprintf(f,
            "# fp8-train loss curves from loss.csv: run `gnuplot loss.gp` in this folder.\n"
            "set datafile separator comma\n"
            "do for [fmt in \"png svg\"] {\n"
            "  if (fmt eq \"png\") { set terminal pngcairo size 1000,%d noenhanced font \",10\" }"
            " else { set terminal svg size 1000,%d noenhanced font \",10\" }\n"
            "  set output \"loss.\".fmt\n"
            "  set multiplot layout %d,1 title \"%s\"\n"
            "  set grid\n  set xlabel \"step\"\n  set ylabel \"validation loss (nats per character)\"\n"
            "  set key outside right\n  set lmargin at screen 0.08\n  set rmargin at screen 0.84\n  plot",
            bf16_index >= 0 ? 800 : 450, bf16_index >= 0 ? 800 : 450, bf16_index >= 0 ? 2 : 1, title);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s \"loss.csv\" using 1:%zu with lines lw 2 lc %zu title \"%s\"", i ? "," : "", 4 + 2 * i,
                i + 1, fp8_linear_recipe_name(rec[i]));
    fputc('\n', f);
    if (bf16_index >= 0) {
        const size_t b = 4 + 2 * (size_t)bf16_index;
        fprintf(f,
                "  set ylabel \"validation loss vs bf16 (%%)\"\n  set key outside right\n"
                "  plot %g with lines lc \"gray\" dt 2 title \"+-%g%% goal\", -%g with lines lc \"gray\" dt 2 notitle",
                GOAL_PERCENT, GOAL_PERCENT, GOAL_PERCENT);
        for (size_t i = 0; i < n; i++)
            if ((int)i != bf16_index)
                fprintf(f, ", \"loss.csv\" using 1:(100*($%zu-$%zu)/$%zu) with linespoints lw 2 lc %zu title \"%s\"",
                        4 + 2 * i, b, b, i + 1, fp8_linear_recipe_name(rec[i]));
        fputc('\n', f);
    }
    fprintf(f, "  unset multiplot\n  set output\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int write_summary(const char *dir, const fp8_linear_recipe *rec, const run_result *res, size_t n,
                         int bf16_index)
{
    char path[4200];
    FILE *f = open_out(dir, "summary.csv", path, sizeof path);
    if (!f) return -1;
    fprintf(f, "recipe,initial_val_loss,final_val_loss,percent_vs_bf16,diverged_at_step,seconds\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s,%.6f,", fp8_linear_recipe_name(rec[i]), res[i].initial_val_loss);
        if (!res[i].diverged) fprintf(f, "%.6f", res[i].final_val_loss);
        fputc(',', f);
        if (bf16_index >= 0 && isfinite(percent_vs(&res[i], &res[bf16_index])))
            fprintf(f, "%.4f", percent_vs(&res[i], &res[bf16_index]));
        fputc(',', f);
        if (res[i].diverged) fprintf(f, "%zu", res[i].diverged_step);
        fprintf(f, ",%.2f\n", res[i].seconds);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* gnuplot in the output folder; returns its exit status, 127 if it is missing. */
static int run_gnuplot(const char *dir)
{
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) return 127;
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(126);
        freopen("/dev/null", "w", stdout);
        execlp("gnuplot", "gnuplot", "loss.gp", (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

static void print_table(const fp8_linear_recipe *rec, const run_result *res, size_t n, int bf16_index)
{
    printf("%-9s %10s %10s %10s %8s\n", "recipe", "initial", "final", "vs bf16", "seconds");
    for (size_t i = 0; i < n; i++) {
        const run_result *r = &res[i];
        printf("%-9s %10.4f ", fp8_linear_recipe_name(rec[i]), r->initial_val_loss);
        if (r->diverged) {
            printf("%10s %10s %8.1f  DIVERGED at step %zu (%s)\n", "-", "-", r->seconds, r->diverged_step,
                   r->diverged_status == FP8_OK ? "non-finite loss" : fp8_status_string(r->diverged_status));
            continue;
        }
        const double pct = bf16_index >= 0 ? percent_vs(r, &res[bf16_index]) : NAN;
        printf("%10.4f ", r->final_val_loss);
        if (isfinite(pct)) printf("%+9.3f%% ", pct);
        else printf("%10s ", "-");
        printf("%8.1f  ", r->seconds);
        if (!(r->final_val_loss < r->initial_val_loss)) printf("DID NOT LEARN");
        else if (isfinite(pct) && (int)i != bf16_index)
            printf(fabs(pct) <= GOAL_PERCENT ? "within %.2f%%" : "OUTSIDE %.2f%%", GOAL_PERCENT);
        printf("\n");
    }
}

static void print_verdict(const fp8_linear_recipe *rec, const run_result *res, size_t n, int bf16_index)
{
    int deepseek = -1;
    for (size_t i = 0; i < n; i++)
        if (rec[i] == FP8_LINEAR_DEEPSEEK) deepseek = (int)i;
    printf("\n");
    if (bf16_index < 0 || deepseek < 0) {
        printf("Verdict: not judged: the goal compares the deepseek run with the bf16 run; run both.\n");
        return;
    }
    const run_result *d = &res[deepseek], *b = &res[bf16_index];
    if (b->diverged || d->diverged) {
        printf("Verdict: goal MISSED: the %s run diverged, so there is no final loss to compare.\n",
               b->diverged ? "bf16" : "deepseek");
        return;
    }
    const double pct = percent_vs(d, b);
    if (fabs(pct) <= GOAL_PERCENT)
        printf("Verdict: goal met: the DeepSeek recipe's final validation loss is %+.3f%% from BF16's "
               "(goal: within %.2f%%).\n", pct, GOAL_PERCENT);
    else
        printf("Verdict: goal MISSED: the DeepSeek recipe's final validation loss is %+.3f%% from BF16's, "
               "outside the %.2f%% goal.\n", pct, GOAL_PERCENT);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    run_config cfg = run_config_init();
    const char *text_path = NULL, *out_dir = "fp8-train-out";
    fp8_linear_recipe recipes[RECIPE_COUNT] = {FP8_LINEAR_FP32,    FP8_LINEAR_BF16,    FP8_LINEAR_DEEPSEEK,
                                               FP8_LINEAR_TENSOR,  FP8_LINEAR_DELAYED, FP8_LINEAR_ROWWISE,
                                               FP8_LINEAR_MX};
    /* One GEMM thread by default: a batch's GEMMs are small, so a second thread gains ~1.4x on idle
       cores but loses 2-3x on cores shared with other work (measured; docs/training.md). */
    size_t n_recipes = RECIPE_COUNT, threads = 1, seed = (size_t)cfg.seed;
    int plot = 1;
    const size_t big = (size_t)1 << 24;
    for (int a = 1; a < argc; a++) {
        const char *opt = argv[a];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return FP8_EXIT_OK;
        }
        if (!strcmp(opt, "--version")) {
            printf("fp8-train (libfp8) %s\n", fp8_version_string());
            return FP8_EXIT_OK;
        }
        if (!strcmp(opt, "--no-plot")) {
            plot = 0;
            continue;
        }
        if (strncmp(opt, "--", 2) != 0 || strcmp(opt, "--") == 0)
            return cli_usage_error(tool, "unexpected argument '%s'", opt);
        if (a + 1 == argc) return cli_usage_error(tool, "%s needs a value", opt);
        const char *val = argv[++a];
        int bad = 0;
        if (!strcmp(opt, "--text")) text_path = val;
        else if (!strcmp(opt, "--out")) out_dir = val;
        else if (!strcmp(opt, "--recipes")) bad = parse_recipes(val, recipes, &n_recipes);
        else if (!strcmp(opt, "--steps")) bad = parse_size(val, 1, big, &cfg.steps);
        else if (!strcmp(opt, "--batch")) bad = parse_size(val, 1, 65536, &cfg.batch);
        else if (!strcmp(opt, "--layers")) bad = parse_size(val, 1, MODEL_MAX_LAYERS, &cfg.shape.layers);
        else if (!strcmp(opt, "--hidden")) bad = parse_size(val, 1, 8192, &cfg.shape.hidden);
        else if (!strcmp(opt, "--context")) bad = parse_size(val, 1, 256, &cfg.shape.context);
        else if (!strcmp(opt, "--embed")) bad = parse_size(val, 1, 1024, &cfg.shape.embed);
        else if (!strcmp(opt, "--eval-every")) bad = parse_size(val, 0, big, &cfg.eval_every);
        else if (!strcmp(opt, "--eval-tokens")) bad = parse_size(val, 1, big, &cfg.eval_tokens);
        else if (!strcmp(opt, "--seed")) bad = parse_size(val, 0, SIZE_MAX, &seed);
        else if (!strcmp(opt, "--threads")) bad = parse_size(val, 1, 1024, &threads);
        else if (!strcmp(opt, "--lr")) {
            char *end;
            const double lr = strtod(val, &end);
            bad = end == val || *end || !(lr > 0 && lr < 1);
            cfg.adamw.lr = (float)lr;
        } else
            return cli_usage_error(tool, "unknown option '%s'", opt);
        if (bad) return cli_usage_error(tool, "invalid value '%s' for %s", val, opt);
    }
    cfg.seed = seed;
    if (fp8_set_num_threads((unsigned)threads) != FP8_OK)
        return cli_usage_error(tool, "cannot use %zu threads", threads);
    if (!text_path && !(text_path = default_text()))
        return cli_input_error(tool, "no default text (install Debian's bible-kjv and rebuild, or pass --text FILE)");

    char err[512];
    text_data text;
    if (text_load(&text, text_path, err, sizeof err) != 0) return cli_input_error(tool, "%s", err);
    /* Fail now rather than after the training when the output cannot be written. */
    if ((mkdir(out_dir, 0777) != 0 && errno != EEXIST) || access(out_dir, W_OK | X_OK) != 0) {
        const int e = errno;
        text_free(&text);
        return cli_input_error(tool, "cannot write in '%s': %s", out_dir, strerror(e));
    }

    int bf16_index = -1;
    for (size_t i = 0; i < n_recipes; i++)
        if (recipes[i] == FP8_LINEAR_BF16) bf16_index = (int)i;
    const model_shape *s = &cfg.shape;
    printf("text: %s, %zu bytes -> %zu symbols; %zu training, %zu validation (every %dth %zu-byte chunk)\n",
           text_path, text.bytes, text.vocab, text.train_len, text.val_len, TEXT_VAL_EVERY, text.chunk);
    printf("model: %zu chars x %zu embedding -> %zu x %zu GELU (recipe) -> %zu softmax (FP32 embedding and head)\n",
           s->context, s->embed, s->layers, s->hidden, text.vocab);
    printf("training: %zu steps x %zu tokens, AdamW peak lr %g, cosine; seed %llu; GEMM threads %u; validation on %zu "
           "positions\n\n", cfg.steps, cfg.batch, (double)cfg.adamw.lr, (unsigned long long)cfg.seed,
           fp8_num_threads(), cfg.eval_tokens);
    run_result results[RECIPE_COUNT];
    double total_seconds = 0;
    for (size_t i = 0; i < n_recipes; i++) {
        const fp8_linear_config lin = fp8_linear_config_init(recipes[i]);
        fprintf(stderr, "%s: training %s ...", tool, fp8_linear_recipe_name(recipes[i]));
        if (run_training(&cfg, &lin, &text, &results[i], err, sizeof err) != 0) {
            fputc('\n', stderr);
            for (size_t j = 0; j < i; j++) run_result_free(&results[j]);
            text_free(&text);
            return cli_input_error(tool, "%s: %s", fp8_linear_recipe_name(recipes[i]), err);
        }
        fprintf(stderr, " %.1f s\n", results[i].seconds);
        total_seconds += results[i].seconds;
    }
    print_table(recipes, results, n_recipes, bf16_index);
    print_verdict(recipes, results, n_recipes, bf16_index);
    printf("Time: %.1f s for %zu runs.\n", total_seconds, n_recipes);
    for (size_t i = 0; i < n_recipes; i++)
        if (results[i].saved_layer_bytes)
            printf("Memory: %s caches its FP8 input: the hidden linears keep %zu bytes for a %zu-token batch "
                   "instead of %zu bytes of FP32 input (%.1f%% less).\n",
                   fp8_linear_recipe_name(recipes[i]), results[i].saved_layer_bytes, cfg.batch,
                   results[i].saved_fp32_bytes,
                   100.0 * (1.0 - (double)results[i].saved_layer_bytes / (double)results[i].saved_fp32_bytes));

    char title[256];
    snprintf(title, sizeof title, "fp8-train: %zu x %zu GELU MLP, %zu steps x %zu tokens, seed %llu", s->layers,
             s->hidden, cfg.steps, cfg.batch, (unsigned long long)cfg.seed);
    int rc = FP8_EXIT_OK;
    if (write_csv(out_dir, recipes, results, n_recipes) || write_gnuplot(out_dir, recipes, n_recipes, bf16_index, title) ||
        write_summary(out_dir, recipes, results, n_recipes, bf16_index)) {
        rc = cli_input_error(tool, "cannot write the output files in '%s'", out_dir);
    } else {
        const int gp = plot ? run_gnuplot(out_dir) : -1;
        if (gp == 0)
            printf("Wrote %s/loss.csv, summary.csv, loss.gp, loss.png, loss.svg.\n", out_dir);
        else
            printf("Wrote %s/loss.csv, summary.csv, loss.gp; %s: render with `cd %s && gnuplot loss.gp`.\n", out_dir,
                   gp == -1 ? "plot not rendered (--no-plot)" : gp == 127 ? "gnuplot not found" : "gnuplot failed",
                   out_dir);
    }
    for (size_t i = 0; i < n_recipes; i++) run_result_free(&results[i]);
    text_free(&text);
    return fflush(stdout) == 0 ? rc : cli_input_error(tool, "cannot write the output");
}
