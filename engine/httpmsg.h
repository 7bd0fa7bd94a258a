/* HTTP/1.1 requests as the daemon's API reads them (docs/http-api.md): a pure parser
 * over the bytes received so far, so that it can be fuzzed and tested exactly
 * (tests/fuzz/fuzz_httpmsg.c, tests/unit/test_httpmsg.c). Strict on purpose: what a
 * lenient parser would guess at (folded headers, two Content-Lengths, chunked
 * bodies, a space before a colon) is refused, because a proxy in front of the
 * daemon might have guessed differently (request smuggling). */
#ifndef CLAW_HTTPMSG_H
#define CLAW_HTTPMSG_H

#include <stddef.h>

#define CLAW_HTTP_MAX_HEAD (8 * 1024)  /* request line and headers */
#define CLAW_HTTP_MAX_BODY (64 * 1024)
#define CLAW_HTTP_MAX_HEADERS 64

/* A piece of the caller's buffer: not NUL-terminated. */
typedef struct claw_span {
    const char *p;
    size_t n;
} claw_span;

typedef struct claw_http_request {
    claw_span method, target, path, query; /* query: after '?', without it */
    int minor;                             /* HTTP/1.<minor>: 0 or 1 */
    claw_span authorization, content_type;
    claw_span body;
    size_t content_length;
    size_t head_len;                       /* bytes of the request line and headers */
} claw_http_request;

/* What claw_http_parse found. */
enum {
    CLAW_HTTP_INCOMPLETE = 0, /* a valid beginning: read more */
    CLAW_HTTP_COMPLETE = 1,   /* *req filled; head_len + content_length bytes used */
    CLAW_HTTP_BAD = -1,       /* refused: *status and *why say how to answer */
};

/* Parses the request at the start of buf[0..len). On CLAW_HTTP_BAD, *status is the
 * answer's status code (400, 411, 413, 431, 505) and *why a constant sentence. */
int claw_http_parse(const char *buf, size_t len, claw_http_request *req, int *status,
                    const char **why);

/* 1 when s is exactly the NUL-terminated string lit. */
int claw_span_is(claw_span s, const char *lit);

/* The token of an "Authorization: Bearer TOKEN" header (scheme matched without
 * regard to case): 1 and *token, else 0. */
int claw_http_bearer(const claw_http_request *req, claw_span *token);

/* Walks "a=1&b=2" pairs: *pos starts at 0. Each call decodes the next pair
 * (%XX and '+' for a space) into key and val, NUL-terminated, and returns 1; 0 at
 * the end; -1 for a malformed escape, a NUL, or a part longer than its buffer. */
int claw_http_query_next(claw_span query, size_t *pos, char *key, size_t ksize, char *val,
                         size_t vsize);

/* "OK", "Not Found", ...; "Unknown" for a code it does not know. */
const char *claw_http_reason(int status);

#endif
