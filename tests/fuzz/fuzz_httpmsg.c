/* libFuzzer target for the API's HTTP request parser (engine/httpmsg.c).
 *
 * claw_http_parse must never crash, read past the bytes given, or accept what it
 * should refuse: a complete request's pieces lie inside the buffer and agree with
 * each other; a refused one names a status the server answers; every shorter
 * prefix of a complete request is incomplete, never refused and never complete
 * (else a request cut by the network would be misread). The query walker and the
 * bearer reader are run over what it returns. Build with -DCLAW_FUZZ=ON and
 * CC=clang (docs/development.md, "Fuzzing"). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_httpmsg: invariant violated: %s (line %d)\n", #cond, \
                    __LINE__);                                                         \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static int inside(claw_span s, const char *buf, size_t size)
{
    return s.n == 0 || (s.p >= buf && s.p + s.n <= buf + size);
}

static void check_complete(const char *buf, size_t size, const claw_http_request *r)
{
    REQUIRE(r->head_len <= size && r->head_len <= CLAW_HTTP_MAX_HEAD);
    REQUIRE(r->content_length <= CLAW_HTTP_MAX_BODY && r->head_len + r->content_length <= size);
    REQUIRE(inside(r->method, buf, size) && inside(r->target, buf, size) && inside(r->path, buf, size));
    REQUIRE(inside(r->query, buf, size) && inside(r->authorization, buf, size));
    REQUIRE(inside(r->content_type, buf, size));
    REQUIRE(r->body.p == buf + r->head_len && r->body.n == r->content_length);
    REQUIRE(r->method.n >= 1 && r->method.n <= 16 && r->method.p == buf);
    REQUIRE(r->minor == 0 || r->minor == 1);
    REQUIRE(r->path.p == r->target.p && r->path.n >= 1 && r->path.p[0] == '/');
    REQUIRE(r->path.n + (r->query.p ? r->query.n + 1 : 0) == r->target.n);
    REQUIRE(!memchr(r->path.p, '?', r->path.n));
    for (size_t i = 0; i < r->target.n; i++)
        REQUIRE(r->target.p[i] > 0x20 && r->target.p[i] < 0x7f && r->target.p[i] != '#');
    for (size_t i = 0; i < r->authorization.n; i++)
        REQUIRE(r->authorization.p[i] != '\r' && r->authorization.p[i] != '\n');
}

static void check_extras(const claw_http_request *r)
{
    size_t pos = 0, steps = 0;
    char k[64], v[256];
    int rc;
    while ((rc = claw_http_query_next(r->query, &pos, k, sizeof k, v, sizeof v)) == 1) {
        REQUIRE(memchr(k, 0, sizeof k) && memchr(v, 0, sizeof v));
        REQUIRE(pos <= r->query.n && ++steps <= r->query.n);
    }
    REQUIRE(rc == 0 || rc == -1);
    claw_span tok;
    if (claw_http_bearer(r, &tok))
        REQUIRE(tok.n > 0 && tok.p + tok.n == r->authorization.p + r->authorization.n);
}

static int parse(const char *buf, size_t n, claw_http_request *r, int *status)
{
    const char *why = NULL;
    int rc = claw_http_parse(buf, n, r, status, &why);
    REQUIRE(rc == CLAW_HTTP_INCOMPLETE || rc == CLAW_HTTP_COMPLETE || rc == CLAW_HTTP_BAD);
    if (rc == CLAW_HTTP_BAD)
        REQUIRE(why && (*status == 400 || *status == 411 || *status == 413 || *status == 431 ||
                        *status == 505));
    else
        REQUIRE(*status == 0 && why == NULL);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan sees any read past the length given. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    claw_http_request r;
    int status;
    if (parse(buf, size, &r, &status) == CLAW_HTTP_COMPLETE) {
        check_complete(buf, size, &r);
        check_extras(&r);
        size_t whole = r.head_len + r.content_length;
        size_t cuts[] = { whole - 1, whole / 2, r.head_len - 1 };
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            claw_http_request p;
            REQUIRE(parse(buf, cuts[i], &p, &status) == CLAW_HTTP_INCOMPLETE);
        }
    }
    free(buf);
    return 0;
}
