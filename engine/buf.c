#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void claw_buf_init(claw_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

static int reserve(claw_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int claw_buf_add(claw_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int claw_buf_str(claw_buf *b, const char *s)
{
    return claw_buf_add(b, s, strlen(s));
}

int claw_buf_printf(claw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *claw_buf_take(claw_buf *b, size_t *len)
{
    if (!b->data && reserve(b, 0) == 0)
        b->data[0] = 0;
    char *d = b->data;
    if (len)
        *len = b->len;
    claw_buf_init(b);
    return d;
}

void claw_buf_drop(claw_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = 0;
}

void claw_buf_free(claw_buf *b)
{
    free(b->data);
    claw_buf_init(b);
}
