/* The API's HTTP request parser: total over any bytes, no allocation, no locale. */
#include "httpmsg.h"

#include <string.h>

typedef struct parse {
    const char *buf;
    size_t len, pos;
    int status;
    const char *why;
} parse;

static int refuse(parse *p, int status, const char *why)
{
    p->status = status;
    p->why = why;
    return CLAW_HTTP_BAD;
}

/* RFC 9110 tchar, for methods and header names. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int span_ieq(claw_span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

int claw_span_is(claw_span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* The next line, without its LF (and the CR before it): 1, or 0 when it has not all
 * arrived. A line may end in CRLF or in LF alone (RFC 9112 2.2); a CR elsewhere is
 * refused. */
static int next_line(parse *p, claw_span *line)
{
    const char *start = p->buf + p->pos;
    const char *lf = memchr(start, '\n', p->len - p->pos);
    if (!lf) {
        if (p->len > CLAW_HTTP_MAX_HEAD)
            return refuse(p, 431, "the request line and headers are longer than 8 KiB");
        return 0;
    }
    size_t end = (size_t)(lf - p->buf) + 1;
    if (end > CLAW_HTTP_MAX_HEAD)
        return refuse(p, 431, "the request line and headers are longer than 8 KiB");
    line->p = start;
    line->n = (size_t)(lf - start);
    if (line->n && start[line->n - 1] == '\r')
        line->n--;
    if (memchr(line->p, '\r', line->n))
        return refuse(p, 400, "a bare CR in the request head");
    p->pos = end;
    return 1;
}

static int parse_version(parse *p, claw_span v, claw_http_request *req)
{
    if (v.n == 8 && memcmp(v.p, "HTTP/1.", 7) == 0 && (v.p[7] == '0' || v.p[7] == '1')) {
        req->minor = v.p[7] - '0';
        return 0;
    }
    if (v.n == 8 && memcmp(v.p, "HTTP/", 5) == 0 && v.p[5] >= '0' && v.p[5] <= '9' &&
        v.p[6] == '.' && v.p[7] >= '0' && v.p[7] <= '9')
        return refuse(p, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
    return refuse(p, 400, "malformed request line");
}

/* METHOD SP origin-form SP HTTP/1.x */
static int request_line(parse *p, claw_span line, claw_http_request *req)
{
    const char *sp1 = memchr(line.p, ' ', line.n);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line.n - (size_t)(sp1 + 1 - line.p)) : NULL;
    if (!sp2)
        return refuse(p, 400, "malformed request line");
    req->method = (claw_span){ line.p, (size_t)(sp1 - line.p) };
    req->target = (claw_span){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
    claw_span version = { sp2 + 1, line.n - (size_t)(sp2 + 1 - line.p) };
    if (req->method.n == 0 || req->method.n > 16)
        return refuse(p, 400, "malformed request line");
    for (size_t i = 0; i < req->method.n; i++)
        if (!is_tchar((unsigned char)req->method.p[i]))
            return refuse(p, 400, "malformed request line");
    if (req->target.n == 0 || req->target.p[0] != '/')
        return refuse(p, 400, "the request target must be a path starting with /");
    for (size_t i = 0; i < req->target.n; i++) {
        unsigned char c = (unsigned char)req->target.p[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return refuse(p, 400, "malformed request target");
    }
    const char *q = memchr(req->target.p, '?', req->target.n);
    req->path = (claw_span){ req->target.p, q ? (size_t)(q - req->target.p) : req->target.n };
    req->query = q ? (claw_span){ q + 1, req->target.n - req->path.n - 1 } : (claw_span){ q, 0 };
    return parse_version(p, version, req);
}

static int content_length(parse *p, claw_span v, claw_http_request *req)
{
    if (v.n == 0 || v.n > 19)
        return refuse(p, 400, "malformed Content-Length");
    size_t n = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return refuse(p, 400, "malformed Content-Length");
        n = n * 10 + (size_t)(v.p[i] - '0');
    }
    if (n > CLAW_HTTP_MAX_BODY)
        return refuse(p, 413, "the request body is larger than 64 KiB");
    req->content_length = n;
    return 0;
}

/* Seen headers, to refuse a repeated one whose meaning would be ambiguous. */
enum { SEEN_LENGTH = 1, SEEN_AUTH = 2, SEEN_HOST = 4, SEEN_TYPE = 8 };

static int once(parse *p, unsigned *seen, unsigned bit)
{
    if (*seen & bit)
        return refuse(p, 400, "a header that must appear once appears twice");
    *seen |= bit;
    return 0;
}

static int header(parse *p, claw_span line, claw_http_request *req, unsigned *seen)
{
    const char *colon = memchr(line.p, ':', line.n);
    if (line.p[0] == ' ' || line.p[0] == '\t')
        return refuse(p, 400, "folded header lines are not accepted");
    if (!colon || colon == line.p)
        return refuse(p, 400, "malformed header line");
    claw_span name = { line.p, (size_t)(colon - line.p) };
    for (size_t i = 0; i < name.n; i++)
        if (!is_tchar((unsigned char)name.p[i]))
            return refuse(p, 400, "malformed header name");
    claw_span v = { colon + 1, line.n - name.n - 1 };
    while (v.n && (v.p[0] == ' ' || v.p[0] == '\t'))
        v.p++, v.n--;
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
        v.n--;
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return refuse(p, 400, "a control character in a header value");
    }
    if (span_ieq(name, "content-length"))
        return once(p, seen, SEEN_LENGTH) ? CLAW_HTTP_BAD : content_length(p, v, req);
    if (span_ieq(name, "transfer-encoding"))
        return refuse(p, 411, "Transfer-Encoding is not accepted: send Content-Length");
    if (span_ieq(name, "host"))
        return once(p, seen, SEEN_HOST);
    if (span_ieq(name, "authorization")) {
        req->authorization = v;
        return once(p, seen, SEEN_AUTH);
    }
    if (span_ieq(name, "content-type")) {
        req->content_type = v;
        return once(p, seen, SEEN_TYPE);
    }
    return 0;
}

static int head(parse *p, claw_http_request *req)
{
    claw_span line;
    int rc = next_line(p, &line);
    if (rc <= 0)
        return rc;
    if (request_line(p, line, req) != 0)
        return CLAW_HTTP_BAD;
    unsigned seen = 0;
    for (int n = 0;; n++) {
        if ((rc = next_line(p, &line)) <= 0)
            return rc;
        if (line.n == 0)
            break;
        if (n == CLAW_HTTP_MAX_HEADERS)
            return refuse(p, 431, "more than 64 headers");
        if (header(p, line, req, &seen) != 0)
            return CLAW_HTTP_BAD;
    }
    if (req->minor == 1 && !(seen & SEEN_HOST))
        return refuse(p, 400, "an HTTP/1.1 request needs a Host header");
    req->head_len = p->pos;
    return CLAW_HTTP_COMPLETE;
}

int claw_http_parse(const char *buf, size_t len, claw_http_request *req, int *status,
                    const char **why)
{
    parse p = { .buf = buf, .len = len };
    memset(req, 0, sizeof *req);
    *status = 0;
    *why = NULL;
    int rc = head(&p, req);
    if (rc == CLAW_HTTP_COMPLETE && len - req->head_len < req->content_length)
        rc = CLAW_HTTP_INCOMPLETE;
    if (rc == CLAW_HTTP_COMPLETE)
        req->body = (claw_span){ buf + req->head_len, req->content_length };
    if (rc == CLAW_HTTP_BAD) {
        *status = p.status;
        *why = p.why;
    }
    if (rc != CLAW_HTTP_COMPLETE)
        memset(req, 0, sizeof *req);
    return rc;
}

int claw_http_bearer(const claw_http_request *req, claw_span *token)
{
    claw_span a = req->authorization;
    if (a.n < 7 || !span_ieq((claw_span){ a.p, 6 }, "bearer") || (a.p[6] != ' ' && a.p[6] != '\t'))
        return 0;
    size_t i = 7;
    while (i < a.n && (a.p[i] == ' ' || a.p[i] == '\t'))
        i++;
    *token = (claw_span){ a.p + i, a.n - i };
    return token->n > 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)lower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes s[0..n) into out (size bytes with the NUL). */
static int decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    if (size == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= size)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return 0;
}

int claw_http_query_next(claw_span query, size_t *pos, char *key, size_t ksize, char *val,
                         size_t vsize)
{
    while (*pos < query.n) {
        const char *start = query.p + *pos;
        const char *amp = memchr(start, '&', query.n - *pos);
        size_t n = amp ? (size_t)(amp - start) : query.n - *pos;
        *pos += n + (amp ? 1 : 0);
        if (n == 0)
            continue; /* "a=1&&b=2" */
        const char *eq = memchr(start, '=', n);
        size_t kn = eq ? (size_t)(eq - start) : n;
        if (decode(start, kn, key, ksize) != 0)
            return -1;
        if (decode(eq ? eq + 1 : start + n, eq ? n - kn - 1 : 0, val, vsize) != 0)
            return -1;
        return 1;
    }
    return 0;
}

const char *claw_http_reason(int status)
{
    static const struct {
        int code;
        const char *text;
    } reasons[] = {
        { 200, "OK" },
        { 202, "Accepted" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 409, "Conflict" },
        { 411, "Length Required" },
        { 413, "Content Too Large" },
        { 415, "Unsupported Media Type" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" },
        { 503, "Service Unavailable" },
        { 505, "HTTP Version Not Supported" },
    };
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (reasons[i].code == status)
            return reasons[i].text;
    return "Unknown";
}
