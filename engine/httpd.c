#define _GNU_SOURCE
#include "httpd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

#define LINGER 2.0 /* seconds to read what the client still sends after the answer */

typedef enum { READING, WRITING, LINGERING } conn_state;

typedef struct http_conn {
    claw_watch w;
    int fd;
    conn_state state;
    double deadline;
    claw_buf in;
    char *out;
    size_t out_len, out_off;
    char peer[64];
    struct claw_httpd *s;
    struct http_conn *prev, *next;
} http_conn;

typedef struct http_listener {
    claw_watch w;
    int fd;
    char addr[128];
    struct claw_httpd *s;
    struct http_listener *next;
} http_listener;

struct claw_httpd {
    claw_proxy *loop;
    const claw_log *log;
    double timeout;
    claw_http_handler handler;
    void *ud;
    http_listener *listeners;
    http_conn *conns;
    int nconns;
};

void claw_http_error(claw_http_reply *resp, int status, const char *message)
{
    resp->status = status;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    char *text = cJSON_PrintUnformatted(o);
    resp->body.len = 0;
    claw_buf_printf(&resp->body, "%s\n", text ? text : "{}");
    free(text);
    cJSON_Delete(o);
}

static void conn_close(claw_httpd *s, http_conn *c)
{
    claw_proxy_unwatch(s->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    claw_buf_free(&c->in);
    free(c->out);
    c->out = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    claw_proxy_defer_free(s->loop, c); /* events of this pass may still name it */
}

/* After the answer: the client's leftovers are read and dropped until it closes,
 * because closing a socket with unread bytes sends a reset that can destroy the
 * answer before the client has read it. */
static void linger(claw_httpd *s, http_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = LINGERING;
    c->deadline = claw_clock_monotonic() + LINGER;
    claw_proxy_rewatch(s->loop, c->fd, EPOLLIN | EPOLLRDHUP, &c->w);
}

static void flush(claw_httpd *s, http_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return; /* EPOLLOUT brings us back */
        if (n <= 0) {
            conn_close(s, c);
            return;
        }
        c->out_off += (size_t)n;
    }
    linger(s, c);
}

static void respond(claw_httpd *s, http_conn *c, claw_http_reply *r)
{
    claw_buf out;
    claw_buf_init(&out);
    claw_buf_printf(&out,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\nCache-Control: no-store\r\n%s\r\n",
                    r->status, claw_http_reason(r->status),
                    r->content_type ? r->content_type : "application/json", r->body.len,
                    r->headers);
    if (r->body.len)
        claw_buf_add(&out, r->body.data, r->body.len);
    claw_buf_free(&r->body);
    claw_buf_free(&c->in);
    c->out = claw_buf_take(&out, &c->out_len);
    c->out_off = 0;
    if (!c->out) {
        conn_close(s, c);
        return;
    }
    c->state = WRITING;
    c->deadline = claw_clock_monotonic() + s->timeout;
    claw_proxy_rewatch(s->loop, c->fd, EPOLLOUT, &c->w);
    flush(s, c);
}

static void answer(claw_httpd *s, http_conn *c)
{
    claw_http_request req;
    int status;
    const char *why;
    int rc = claw_http_parse(c->in.data ? c->in.data : "", c->in.len, &req, &status, &why);
    if (rc == CLAW_HTTP_INCOMPLETE)
        return;
    claw_http_reply r = { .status = 200 };
    claw_buf_init(&r.body);
    if (rc == CLAW_HTTP_BAD) {
        claw_http_error(&r, status, why);
        claw_log_printf(s->log, CLAW_LOG_WARN, "api: %s: %d %s", c->peer, status, why);
    } else {
        s->handler(s->ud, &req, c->peer, &r);
    }
    respond(s, c, &r);
}

static void on_conn(claw_watch *w, unsigned events)
{
    http_conn *c = (http_conn *)w;
    claw_httpd *s = c->s;
    if (c->fd < 0)
        return;
    if (c->state == WRITING) {
        flush(s, c);
        return;
    }
    char buf[16384];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || c->state == LINGERING) {
        if (n <= 0)
            conn_close(s, c); /* a client gone before its request was whole: no answer */
        return;
    }
    (void)events;
    claw_buf_add(&c->in, buf, (size_t)n);
    answer(s, c);
}

/* Past the limit, a connection is closed at once: the loop must stay responsive. */
static void on_accept(claw_watch *w, unsigned events)
{
    http_listener *l = (http_listener *)w;
    claw_httpd *s = l->s;
    (void)events;
    for (int i = 0; i < 16 && l->fd >= 0; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        http_conn *c = s->nconns < CLAW_HTTPD_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        *c = (http_conn){ .w.on_event = on_conn, .fd = fd, .state = READING, .s = s,
                          .deadline = claw_clock_monotonic() + s->timeout, .next = s->conns };
        claw_format_addr((struct sockaddr *)&peer, c->peer, sizeof c->peer);
        claw_buf_init(&c->in);
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        claw_proxy_watch(s->loop, fd, EPOLLIN | EPOLLRDHUP, &c->w);
    }
}

static int listen_one(claw_httpd *s, const char *addr, claw_err *err)
{
    claw_err e;
    int fd = claw_proxy_listen(s->loop, addr, 64, &e);
    if (fd < 0)
        return claw_fail(err, e.code, e.status, "api: %s", e.message);
    http_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    }
    *l = (http_listener){ .w.on_event = on_accept, .fd = fd, .s = s, .next = s->listeners };
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    s->listeners = l;
    return claw_proxy_watch(s->loop, fd, EPOLLIN, &l->w);
}

int claw_httpd_listen(claw_httpd *s, const char *const *addrs, int n, claw_err *err)
{
    for (int i = 0; i < n; i++) {
        if (listen_one(s, addrs[i], err) != 0) {
            claw_httpd_stop_listening(s);
            return -1;
        }
    }
    return 0;
}

int claw_httpd_listeners(const claw_httpd *s, int *fds, const char **addrs, int max)
{
    int n = 0;
    for (const http_listener *l = s ? s->listeners : NULL; l; l = l->next, n++) {
        if (n < max) {
            fds[n] = l->fd;
            addrs[n] = l->addr;
        }
    }
    return n;
}

void claw_httpd_stop_listening(claw_httpd *s)
{
    while (s && s->listeners) {
        http_listener *l = s->listeners;
        s->listeners = l->next;
        claw_proxy_unwatch(s->loop, l->fd);
        close(l->fd);
        l->fd = -1;
        claw_proxy_defer_free(s->loop, l);
    }
}

claw_httpd *claw_httpd_new(claw_proxy *loop, const claw_log *log, double request_timeout,
                           claw_http_handler handler, void *ud)
{
    claw_httpd *s = calloc(1, sizeof *s);
    if (s)
        *s = (claw_httpd){ .loop = loop, .log = log, .timeout = request_timeout,
                           .handler = handler, .ud = ud };
    return s;
}

void claw_httpd_set_timeout(claw_httpd *s, double request_timeout)
{
    s->timeout = request_timeout;
}

/* A request not whole by its deadline gets 408; an answer not taken, or a client
 * not closing after it, is cut. */
static void expire(claw_httpd *s, http_conn *c)
{
    if (c->state != READING) {
        conn_close(s, c);
        return;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "the request did not arrive whole within %g s", s->timeout);
    claw_log_printf(s->log, CLAW_LOG_WARN, "api: %s: 408 %s", c->peer, msg);
    claw_http_reply r = { .status = 408 };
    claw_buf_init(&r.body);
    claw_http_error(&r, 408, msg);
    respond(s, c, &r);
}

double claw_httpd_tick(claw_httpd *s)
{
    if (!s)
        return -1;
    double now = claw_clock_monotonic(), next = -1;
    for (http_conn *c = s->conns, *after; c; c = after) {
        after = c->next;
        if (now >= c->deadline)
            expire(s, c);
    }
    for (http_conn *c = s->conns; c; c = c->next)
        if (next < 0 || c->deadline - now < next)
            next = c->deadline - now > 0 ? c->deadline - now : 0;
    return next;
}

void claw_httpd_free(claw_httpd *s)
{
    if (!s)
        return;
    claw_httpd_stop_listening(s);
    while (s->conns)
        conn_close(s, s->conns);
    free(s);
}
