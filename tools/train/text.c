#include "train/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int text_from_bytes(text_data *t, const uint8_t *bytes, size_t len)
{
    memset(t, 0, sizeof *t);
    size_t count[256] = {0};
    for (size_t i = 0; i < len; i++) count[bytes[i]]++;
    /* Frequent bytes in byte order, then one rare symbol if any byte is rare. */
    const double rare_below = (double)len * TEXT_RARE_PER_MILLION / 1e6;
    size_t vocab = 0;
    int any_rare = 0;
    for (int b = 0; b < 256; b++) {
        if (count[b] == 0) continue;
        if ((double)count[b] < rare_below) {
            any_rare = 1;
            continue;
        }
        t->symbol_of[b] = (uint8_t)vocab;
        t->byte_of[vocab++] = b;
    }
    if (any_rare) {
        for (int b = 0; b < 256; b++)
            if (count[b] && (double)count[b] < rare_below) t->symbol_of[b] = (uint8_t)vocab;
        t->byte_of[vocab++] = -1;
    }
    t->vocab = vocab; /* at most 256: one per distinct byte, the rare symbol replacing at least one */

    size_t chunk = len / (8 * TEXT_VAL_EVERY);
    chunk = chunk > TEXT_MAX_CHUNK ? TEXT_MAX_CHUNK : chunk < TEXT_MIN_CHUNK ? TEXT_MIN_CHUNK : chunk;
    t->chunk = chunk;
    t->train = malloc(len ? len : 1);
    t->val = malloc(len / TEXT_VAL_EVERY + chunk);
    if (!t->train || !t->val) {
        text_free(t);
        return -1;
    }
    for (size_t start = 0, index = 0; start < len; start += chunk, index++) {
        const size_t n = len - start < chunk ? len - start : chunk;
        const int is_val = index % TEXT_VAL_EVERY == TEXT_VAL_EVERY - 1;
        uint8_t *dst = is_val ? t->val + t->val_len : t->train + t->train_len;
        for (size_t i = 0; i < n; i++) dst[i] = t->symbol_of[bytes[start + i]];
        *(is_val ? &t->val_len : &t->train_len) += n;
    }
    t->bytes = len;
    return 0;
}

int text_load(text_data *t, const char *path, char *err, size_t err_len)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        uint8_t *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    const int read_error = ferror(f);
    fclose(f);
    if (!buf || read_error) {
        snprintf(err, err_len, "cannot read '%s': %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    const int rc = text_from_bytes(t, buf, len);
    free(buf);
    if (rc != 0) snprintf(err, err_len, "out of memory for '%s'", path);
    return rc;
}

void text_free(text_data *t)
{
    free(t->train);
    free(t->val);
    t->train = t->val = NULL;
}
