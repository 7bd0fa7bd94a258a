#define _GNU_SOURCE
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

struct claw_http {
    CURL *easy;
    CURLM *multi;
    const claw_cancel *cancel;
    struct curl_slist *headers;
    const claw_http_req *req; /* the transfer under way, between begin and end */
    claw_http_resp *resp;
    claw_buf body, head;
    int active, stopped_early;
};

claw_http *claw_http_new(const claw_cancel *cancel)
{
    claw_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->easy = curl_easy_init();
    h->multi = curl_multi_init();
    h->cancel = cancel;
    if (!h->easy || !h->multi) {
        claw_http_free(h);
        return NULL;
    }
    return h;
}

void claw_http_free(claw_http *h)
{
    if (!h)
        return;
    claw_http_end(h);
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    claw_http *h = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    /* An error answer is kept whole for its message, not streamed. */
    if (h->req->on_data && status < 400) {
        if (h->req->on_data(h->req->ud, p, len) != 0) {
            h->stopped_early = 1;
            return CURL_WRITEFUNC_ERROR;
        }
        return len;
    }
    return claw_buf_add(&h->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    claw_http *h = ud;
    size_t len = size * n;
    /* A new status line starts a new header block (after 100 Continue, redirects). */
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
        h->head.len = 0;
    return claw_buf_add(&h->head, p, len) == 0 ? len : 0;
}

static void set_options(claw_http *h, const claw_http_req *r)
{
    CURL *e = h->easy;
    curl_easy_reset(e); /* keeps the connection cache */
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)((r->connect_timeout > 0 ? r->connect_timeout : 10) * 1000));
    if (r->timeout > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(r->timeout * 1000));
    if (r->unix_socket)
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, r->unix_socket);
    const char *method = r->method ? r->method : "GET";
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (r->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, r->cacert);
    if (r->cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, r->cert);
    if (r->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, r->key);
    curl_slist_free_all(h->headers);
    h->headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    for (const char *const *hd = r->headers; hd && *hd; hd++)
        h->headers = curl_slist_append(h->headers, *hd);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
}

int claw_http_begin(claw_http *h, const claw_http_req *req, claw_http_resp *resp,
                    claw_err *err)
{
    memset(resp, 0, sizeof *resp);
    claw_http_end(h);
    h->req = req;
    h->resp = resp;
    h->stopped_early = 0;
    claw_buf_init(&h->body);
    claw_buf_init(&h->head);
    set_options(h, req);
    if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK)
        return claw_fail(err, CLAW_E_HTTP, 0, "cannot start a transfer to %s", req->url);
    h->active = 1;
    return 0;
}

static int finish(claw_http *h, CURLcode rc, claw_err *err)
{
    claw_http_resp *resp = h->resp;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = claw_buf_take(&h->body, &resp->len);
    resp->headers = claw_buf_take(&h->head, &resp->hlen);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && h->stopped_early))
        return 0;
    claw_http_resp_free(resp); /* no answer: callers own nothing after a failure */
    long oserr = 0;
    curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return claw_fail(err, CLAW_E_TIMEOUT, 0, "%s: timed out", h->req->url);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        return claw_fail(err, CLAW_E_UNREACHABLE, (int)oserr, "%s", curl_easy_strerror(rc));
    return claw_fail(err, CLAW_E_HTTP, 0, "%s", curl_easy_strerror(rc));
}

int claw_http_step(claw_http *h, double wait, int *done, claw_err *err)
{
    *done = 0;
    if (!h->active)
        return claw_fail(err, CLAW_E_HTTP, 0, "no transfer under way");
    struct curl_waitfd extra = { .fd = h->cancel ? h->cancel->rfd : -1,
                                 .events = CURL_WAIT_POLLIN };
    int running = 0;
    curl_multi_perform(h->multi, &running);
    for (;;) {
        int msgs;
        CURLMsg *m = curl_multi_info_read(h->multi, &msgs);
        if (m && m->msg == CURLMSG_DONE) {
            *done = 1;
            int rc = finish(h, m->data.result, err);
            claw_http_end(h);
            return rc;
        }
        if (claw_cancel_pending(h->cancel)) {
            claw_http_end(h);
            *done = 1;
            return claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
        }
        if (wait <= 0)
            return 0;
        int ms = wait > 1 ? 1000 : (int)(wait * 1000) + 1;
        curl_multi_poll(h->multi, extra.fd >= 0 ? &extra : NULL, extra.fd >= 0 ? 1 : 0,
                        ms, NULL);
        wait -= ms / 1000.0; /* an early wake-up only makes the caller loop again */
        curl_multi_perform(h->multi, &running);
    }
}

void claw_http_end(claw_http *h)
{
    if (h->active) {
        curl_multi_remove_handle(h->multi, h->easy);
        h->active = 0;
    }
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    claw_buf_free(&h->body);
    claw_buf_free(&h->head);
}

int claw_http_do(claw_http *h, const claw_http_req *req, claw_http_resp *resp,
                 claw_err *err)
{
    if (claw_http_begin(h, req, resp, err) != 0)
        return -1;
    int done = 0;
    while (!done)
        if (claw_http_step(h, 3600, &done, err) != 0)
            return -1;
    return 0;
}

const char *claw_http_header(const claw_http_resp *r, const char *name, char *buf,
                             size_t size)
{
    size_t nlen = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            const char *end = line + llen;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' '))
                end--;
            size_t vlen = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = 0;
            return buf;
        }
        line = eol ? eol + 1 : line + llen;
    }
    return NULL;
}

void claw_http_resp_free(claw_http_resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
    r->len = r->hlen = 0;
}
