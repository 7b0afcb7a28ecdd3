/* fp8-train's data: a text file read as bytes, mapped to a small vocabulary
 * and split into training and held-out validation streams. */
#ifndef FP8_TRAIN_TEXT_H
#define FP8_TRAIN_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes seen fewer than this many times per million of the text all become
 * one "rare" symbol, so the head does not spend outputs on them. */
#define TEXT_RARE_PER_MILLION 2

/* Every TEXT_VAL_EVERY-th chunk of the text is validation: held-out text
 * spread over the whole book rather than only its end. Chunks are
 * TEXT_MAX_CHUNK bytes, or smaller for texts of fewer than 8 * 20 such
 * chunks, so that a short text still gets 8 validation chunks. */
#define TEXT_MAX_CHUNK 16384
#define TEXT_MIN_CHUNK 64
#define TEXT_VAL_EVERY 20

typedef struct text_data {
    uint8_t *train, *val; /* symbol ids, in text order */
    size_t train_len, val_len, bytes, chunk;
    size_t vocab;             /* symbols, the rare one included when used */
    uint8_t symbol_of[256];   /* byte -> symbol */
    int byte_of[256];         /* symbol -> byte, -1 for the rare symbol */
} text_data;

/* Maps and splits `bytes` bytes of text (copied). Returns 0, or -1 on
 * allocation failure. */
int text_from_bytes(text_data *t, const uint8_t *bytes, size_t len);
/* Reads a whole file and calls text_from_bytes. Returns 0, or -1 with a
 * one-line reason in err. */
int text_load(text_data *t, const char *path, char *err, size_t err_len);
void text_free(text_data *t);

#endif
