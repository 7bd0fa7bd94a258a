/* The daemon's admin protocol: one JSON object a line over a unix socket, one JSON
 * line in answer (docs/proxy.md). The parser is strict and total, so that a
 * malformed command gets an error and changes nothing (it is fuzzed). */
#ifndef CLAW_ADMIN_H
#define CLAW_ADMIN_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "cancel.h"
#include "err.h"

#define CLAW_ADMIN_MAX_LINE (64 * 1024)
#define CLAW_PAUSE_DEFAULT 30.0 /* seconds a pause holds new connections at most */

typedef enum {
    CLAW_ADMIN_LIST,
    CLAW_ADMIN_CREATE, /* route, listen, port, container */
    CLAW_ADMIN_DELETE, /* route */
    CLAW_ADMIN_ADD,    /* route, container, weight (-1: unset) */
    CLAW_ADMIN_WEIGHT, /* route, weights, sticky (-1: unset) */
    CLAW_ADMIN_SWITCH, /* route, container */
    CLAW_ADMIN_DRAIN,  /* route, container, timeout (< 0: the daemon's default) */
    CLAW_ADMIN_REMOVE, /* route, container */
    CLAW_ADMIN_RENAME, /* route, container, to */
    CLAW_ADMIN_SCHEDULES, /* the daemon's schedules: next times, last run, skipped */
    CLAW_ADMIN_HANDOVER,  /* the listening sockets, passed to a new daemon (SCM_RIGHTS) */
    CLAW_ADMIN_RETIRE,    /* after a handover, on its connection: stop as on SIGTERM */
    CLAW_ADMIN_PAUSE,     /* route, holder, timeout (< 0: CLAW_PAUSE_DEFAULT): new
                           * connections wait */
    CLAW_ADMIN_RESUME,    /* route, holder (or all): ends that pause (every one); when none
                           * is left, the connections the pauses held go on */
} claw_admin_op;

typedef struct claw_admin_req {
    claw_admin_op op;
    char route[128];
    char container[128];
    char to[128];
    char holder[128]; /* pause, resume: whose pause ("" when not said) */
    int weight, port, sticky, all;
    double timeout;
    cJSON *weights; /* {"name": percent}, owned */
    cJSON *listen;  /* ["addr", ...], owned */
} claw_admin_req;

int claw_admin_parse(const char *line, size_t len, claw_admin_req *r, claw_err *err);
/* A route, schedule or container name: Docker's rule for container names (CLAW_NAME_RULE),
 * shorter than max. */
int claw_admin_name_ok(const char *s, size_t max);
#define CLAW_NAME_RULE "a letter or digit, then letters, digits, '_', '.' and '-'"
void claw_admin_req_free(claw_admin_req *r);

/* The client side: sends req, waits for the answer line (at most timeout seconds,
 * 0 for none), returns the parsed answer. An answer {"ok":false,"error":...}
 * becomes an error whose code is the answer's "code" (default "invalid"). A "busy"
 * answer (a daemon handing over to a new one) is asked again, on a new connection,
 * for up to CLAW_ADMIN_BUSY_WAIT seconds. */
int claw_admin_call(const char *socket_path, const cJSON *req, double timeout,
                    const claw_cancel *cancel, cJSON **answer, claw_err *err);
/* A daemon that answers "busy" (handing over to a new one) is asked again for this
 * many seconds. */
#define CLAW_ADMIN_BUSY_WAIT 10.0
/* At most this many listening sockets pass in a handover (the kernel's SCM_MAX_FD). */
#define CLAW_ADMIN_MAX_FDS 253

/* The takeover of `clawengine daemon --takeover` (docs/proxy.md): asks the daemon at
 * socket_path for its listening sockets. Returns the connection, kept open: the old
 * daemon stops only when claw_admin_retire is sent on it, and serves on if it closes
 * first. *answer is {"ok":true,"pid":N,"listen":[ADDR...]} and fds the descriptors
 * (close-on-exec), in the order of "listen". -1 with err, whose code is
 * "unreachable" when no daemon answers there. */
int claw_admin_handover(const char *socket_path, double timeout, int *fds, int max, int *nfds,
                        cJSON **answer, claw_err *err);
/* Tells the daemon that handed its sockets over on fd to stop; closes fd. */
int claw_admin_retire(int fd, double timeout, claw_err *err);
/* $CLAWENGINE_ADMIN, else /run/clawengine/admin.sock. */
const char *claw_admin_default_path(void);

#endif
