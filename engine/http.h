/* HTTP over libcurl, for the Docker API (unix socket or TCP+TLS) and, later, the
 * registries and webhooks. One claw_http owns one easy handle (so connections are
 * reused) and one multi handle (so every wait also watches the cancel pipe). */
#ifndef CLAW_HTTP_H
#define CLAW_HTTP_H

#include <stddef.h>

#include "cancel.h"
#include "err.h"

typedef struct claw_http claw_http;

typedef struct claw_http_req {
    const char *method;            /* "GET" when NULL */
    const char *url;
    const char *unix_socket;       /* connect there instead of the URL's host */
    const char *body;              /* sent as is; NULL for none */
    size_t body_len;
    const char *const *headers;    /* NULL-terminated "Name: value" lines */
    double timeout;                /* whole transfer in seconds; 0 means none */
    double connect_timeout;        /* 0 means 10 s */
    const char *cacert, *cert, *key; /* TLS files (PEM); NULL for the defaults */
    /* Streaming: when set, body bytes go here instead of into the response. Return
     * non-zero to end the transfer early (not an error). */
    int (*on_data)(void *ud, const char *p, size_t n);
    void *ud;
} claw_http_req;

typedef struct claw_http_resp {
    long status;
    char *body;      /* NUL-terminated; owned by the response */
    size_t len;
    char *headers;   /* the raw header lines of the last response */
    size_t hlen;
} claw_http_resp;

claw_http *claw_http_new(const claw_cancel *cancel);
void claw_http_free(claw_http *h);

/* Performs one request; 0 when an HTTP answer came (whatever its status). */
int claw_http_do(claw_http *h, const claw_http_req *req, claw_http_resp *resp,
                 claw_err *err);

/* The same in steps, for streams read a piece at a time (Docker events):
 * begin, then step until *done, then end. step waits at most `wait` seconds. */
int claw_http_begin(claw_http *h, const claw_http_req *req, claw_http_resp *resp,
                    claw_err *err);
int claw_http_step(claw_http *h, double wait, int *done, claw_err *err);
void claw_http_end(claw_http *h);

/* The value of a response header (case-insensitive name) copied into buf, or NULL. */
const char *claw_http_header(const claw_http_resp *r, const char *name, char *buf,
                             size_t size);
void claw_http_resp_free(claw_http_resp *r);

#endif
