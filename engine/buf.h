/* A growable byte buffer, always NUL-terminated when not empty. */
#ifndef CLAW_BUF_H
#define CLAW_BUF_H

#include <stddef.h>

typedef struct claw_buf {
    char *data;
    size_t len, cap;
} claw_buf;

void claw_buf_init(claw_buf *b);
int claw_buf_add(claw_buf *b, const void *p, size_t n);
int claw_buf_str(claw_buf *b, const char *s);
int claw_buf_printf(claw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data (NUL-terminated, never NULL unless out of memory) to the caller. */
char *claw_buf_take(claw_buf *b, size_t *len);
void claw_buf_drop(claw_buf *b, size_t n); /* removes the first n bytes */
void claw_buf_free(claw_buf *b);

#endif
