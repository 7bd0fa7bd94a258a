/* A small HTTP/1.1 server inside the daemon's epoll loop (engine/proxy.c), for the
 * API (docs/http-api.md). One request per connection, answered with
 * `Connection: close`; the request must arrive whole within a deadline (a client
 * that trickles bytes is cut, not waited for), within the limits of httpmsg.h. No
 * thread and no library: the daemon's memory stays small. */
#ifndef CLAW_HTTPD_H
#define CLAW_HTTPD_H

#include "buf.h"
#include "err.h"
#include "httpmsg.h"
#include "log.h"
#include "proxy.h"

typedef struct claw_httpd claw_httpd;

typedef struct claw_http_reply {
    int status;
    const char *content_type; /* default "application/json" */
    char headers[512];        /* more header lines, each ending in "\r\n" */
    claw_buf body;
} claw_http_reply;

/* Answers one request; resp->status is 200 and the body empty on entry. peer is the
 * client's address as text. */
typedef void (*claw_http_handler)(void *ud, const claw_http_request *req, const char *peer,
                                  claw_http_reply *resp);

#define CLAW_HTTPD_MAX_CONNS 64

claw_httpd *claw_httpd_new(claw_proxy *loop, const claw_log *log, double request_timeout,
                           claw_http_handler handler, void *ud);
/* Listens on each "host:port" ("[v6]:port"). All or nothing. */
int claw_httpd_listen(claw_httpd *s, const char *const *addrs, int n, claw_err *err);
/* No new connections; those open are answered. */
void claw_httpd_stop_listening(claw_httpd *s);
/* The listening sockets and their addresses (s may be NULL): fills at most max,
 * returns how many there are. */
int claw_httpd_listeners(const claw_httpd *s, int *fds, const char **addrs, int max);
void claw_httpd_set_timeout(claw_httpd *s, double request_timeout);
void claw_httpd_free(claw_httpd *s);

/* Cuts connections past their deadline; returns the seconds until the next one is
 * due (< 0: none). Called after every pass of the loop. */
double claw_httpd_tick(claw_httpd *s);

/* A JSON error body {"error": message} with the status. */
void claw_http_error(claw_http_reply *resp, int status, const char *message);

#endif
