/* The API's HTTP request parser: exact fields of valid requests, and the exact status
 * and reason of refused ones (tests/fuzz/fuzz_httpmsg.c fuzzes the same function). */
#include <stdlib.h>

#include "check.h"
#include "httpmsg.h"

static int parse(const char *text, claw_http_request *r)
{
    int status;
    const char *why;
    return claw_http_parse(text, strlen(text), r, &status, &why);
}

static void refused(const char *text, size_t len, int want_status, const char *want_why)
{
    claw_http_request r;
    int status = 0;
    const char *why = NULL;
    CHECK_INT(claw_http_parse(text, len, &r, &status, &why), CLAW_HTTP_BAD);
    CHECK_INT(status, want_status);
    CHECK_STR(why, want_why);
}

static void bad(const char *text, int want_status, const char *want_why)
{
    refused(text, strlen(text), want_status, want_why);
}

static int span_eq(claw_span s, const char *want)
{
    return claw_span_is(s, want);
}

static void valid(void)
{
    claw_http_request r;
    CHECK_INT(parse("GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n", &r),
              CLAW_HTTP_COMPLETE);
    CHECK(span_eq(r.method, "GET") && span_eq(r.path, "/v1/status") && r.query.n == 0);
    CHECK(span_eq(r.authorization, "Bearer abc"));
    CHECK_INT(r.minor, 1);
    CHECK_INT(r.body.n, 0);

    /* LF alone ends lines too; HTTP/1.0 needs no Host; OWS around values goes */
    CHECK_INT(parse("POST /v1/update?container=a&container=b%2Cc HTTP/1.0\nContent-Length: 2\n"
                    "content-type:  application/json \n\n{}", &r), CLAW_HTTP_COMPLETE);
    CHECK(span_eq(r.path, "/v1/update") && span_eq(r.query, "container=a&container=b%2Cc"));
    CHECK(span_eq(r.body, "{}") && span_eq(r.content_type, "application/json"));
    CHECK_INT(r.minor, 0);

    size_t pos = 0;
    char k[16], v[16];
    CHECK_INT(claw_http_query_next(r.query, &pos, k, sizeof k, v, sizeof v), 1);
    CHECK_STR(k, "container");
    CHECK_STR(v, "a");
    CHECK_INT(claw_http_query_next(r.query, &pos, k, sizeof k, v, sizeof v), 1);
    CHECK_STR(v, "b,c");
    CHECK_INT(claw_http_query_next(r.query, &pos, k, sizeof k, v, sizeof v), 0);

    claw_span tok;
    r.authorization = (claw_span){ "bEaReR   t0k=", 13 };
    CHECK(claw_http_bearer(&r, &tok) && span_eq(tok, "t0k="));
    r.authorization = (claw_span){ "Basic dXNlcg==", 14 };
    CHECK(!claw_http_bearer(&r, &tok));
    r.authorization = (claw_span){ "Bearer ", 7 };
    CHECK(!claw_http_bearer(&r, &tok));
}

static void incomplete(void)
{
    claw_http_request r;
    CHECK_INT(parse("", &r), CLAW_HTTP_INCOMPLETE);
    CHECK_INT(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r), CLAW_HTTP_INCOMPLETE);
    CHECK_INT(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabc", &r),
              CLAW_HTTP_INCOMPLETE);
}

static void query(void)
{
    char k[8], v[8];
    size_t pos = 0;
    claw_span q = { "a+b=%41%4a&&x", 13 };
    CHECK_INT(claw_http_query_next(q, &pos, k, sizeof k, v, sizeof v), 1);
    CHECK_STR(k, "a b");
    CHECK_STR(v, "AJ");
    CHECK_INT(claw_http_query_next(q, &pos, k, sizeof k, v, sizeof v), 1);
    CHECK_STR(k, "x");
    CHECK_STR(v, "");
    CHECK_INT(claw_http_query_next(q, &pos, k, sizeof k, v, sizeof v), 0);
    static const char *const broken[] = { "a=%4", "a=%zz", "a=%00", "toolongkey=1", "a=12345678" };
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        pos = 0;
        CHECK_INT(claw_http_query_next((claw_span){ broken[i], strlen(broken[i]) }, &pos, k,
                                       sizeof k, v, sizeof v), -1);
    }
}

static void refusals(void)
{
    bad("GET / HTTP/1.1\r\n\r\n", 400, "an HTTP/1.1 request needs a Host header");
    bad("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "the request target must be a path starting with /");
    bad("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "the request target must be a path starting with /");
    bad("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request target");
    bad("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line");
    bad("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
    bad("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line");
    bad("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "folded header lines are not accepted");
    bad("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header name");
    bad("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "malformed header line");
    bad("GET / HTTP/1.1\r\nHost: x\rY\r\n\r\n", 400, "a bare CR in the request head");
    bad("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400, "a control character in a header value");
    bad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab", 400,
        "a header that must appear once appears twice");
    bad("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "a header that must appear once appears twice");
    bad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "malformed Content-Length");
    bad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", 413,
        "the request body is larger than 64 KiB");
    bad("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411,
        "Transfer-Encoding is not accepted: send Content-Length");
    refused("GET / HTTP/1.1\r\nHost: \0\r\n\r\n", 27, 400, "a control character in a header value");

    /* 8 KiB of head without its end; 65 headers */
    char *big = malloc(CLAW_HTTP_MAX_HEAD + 100);
    int n = snprintf(big, 100, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    memset(big + n, 'a', CLAW_HTTP_MAX_HEAD + 100 - (size_t)n);
    refused(big, CLAW_HTTP_MAX_HEAD + 100, 431, "the request line and headers are longer than 8 KiB");
    size_t len = (size_t)snprintf(big, 100, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 64; i++)
        len += (size_t)snprintf(big + len, 100, "X-%d: y\r\n", i);
    len += (size_t)snprintf(big + len, 10, "\r\n");
    refused(big, len, 431, "more than 64 headers");
    free(big);
}

int main(void)
{
    valid();
    incomplete();
    query();
    refusals();
    CHECK_STR(claw_http_reason(431), "Request Header Fields Too Large");
    CHECK_STR(claw_http_reason(299), "Unknown");
    return check_done();
}
