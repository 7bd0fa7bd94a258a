#define _GNU_SOURCE
#include "admin.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"

static const struct {
    const char *name;
    claw_admin_op op;
} ops[] = {
    { "list", CLAW_ADMIN_LIST },     { "create", CLAW_ADMIN_CREATE },
    { "delete", CLAW_ADMIN_DELETE }, { "add", CLAW_ADMIN_ADD },
    { "weight", CLAW_ADMIN_WEIGHT }, { "switch", CLAW_ADMIN_SWITCH },
    { "drain", CLAW_ADMIN_DRAIN },   { "remove", CLAW_ADMIN_REMOVE },
    { "rename", CLAW_ADMIN_RENAME }, { "schedules", CLAW_ADMIN_SCHEDULES },
    { "handover", CLAW_ADMIN_HANDOVER }, { "retire", CLAW_ADMIN_RETIRE },
    { "pause", CLAW_ADMIN_PAUSE },   { "resume", CLAW_ADMIN_RESUME },
};

int claw_admin_name_ok(const char *s, size_t max)
{
#define CLAW_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    size_t n = strlen(s);
    return n > 0 && n < max && strchr(CLAW_ALNUM, s[0]) && strspn(s, CLAW_ALNUM "_.-") == n;
#undef CLAW_ALNUM
}

static int get_name(const cJSON *o, const char *key, char *out, size_t size, claw_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return claw_fail(err, CLAW_E_INVALID, 0, "admin: \"%s\" is missing", key);
    if (!cJSON_IsString(v) || !claw_admin_name_ok(v->valuestring, size))
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "admin: \"%s\" must be a name: " CLAW_NAME_RULE, key);
    snprintf(out, size, "%s", v->valuestring);
    return 0;
}

static int is_int_in(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && v->valuedouble >= lo &&
           v->valuedouble <= hi;
}

static int get_weights(const cJSON *o, claw_admin_req *r, claw_err *err)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weights");
    if (!cJSON_IsObject(w) || !w->child)
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "admin: \"weights\" must be an object of container: percent");
    const cJSON *e;
    cJSON_ArrayForEach(e, w) {
        if (!claw_admin_name_ok(e->string, sizeof r->container))
            return claw_fail(err, CLAW_E_INVALID, 0, "admin: invalid container name in \"weights\"");
        if (!is_int_in(e, 0, 100))
            return claw_fail(err, CLAW_E_INVALID, 0,
                             "admin: weight of \"%s\" must be an integer from 0 to 100", e->string);
    }
    r->weights = cJSON_Duplicate(w, 1);
    return r->weights ? 0 : claw_fail(err, CLAW_E_IO, 0, "admin: out of memory");
}

static int get_listen(const cJSON *o, claw_admin_req *r, claw_err *err)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "listen");
    int n = cJSON_GetArraySize(l);
    const cJSON *e;
    int ok = cJSON_IsArray(l) && n > 0 && n <= 16;
    cJSON_ArrayForEach(e, l) ok &= cJSON_IsString(e) && strlen(e->valuestring) < 128;
    if (!ok)
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "admin: \"listen\" must be a list of 1 to 16 addresses");
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(o, "port");
    if (!is_int_in(port, 1, 65535))
        return claw_fail(err, CLAW_E_INVALID, 0, "admin: \"port\" must be an integer from 1 to 65535");
    r->port = (int)port->valuedouble;
    r->listen = cJSON_Duplicate(l, 1);
    return r->listen ? 0 : claw_fail(err, CLAW_E_IO, 0, "admin: out of memory");
}

static int get_fields(const cJSON *o, claw_admin_req *r, claw_err *err)
{
    int needs_route = r->op != CLAW_ADMIN_LIST && r->op != CLAW_ADMIN_SCHEDULES &&
                      r->op != CLAW_ADMIN_HANDOVER && r->op != CLAW_ADMIN_RETIRE;
    if (needs_route && get_name(o, "route", r->route, sizeof r->route, err) != 0)
        return -1;
    int needs_container = r->op == CLAW_ADMIN_CREATE || r->op == CLAW_ADMIN_ADD ||
                          r->op == CLAW_ADMIN_SWITCH || r->op == CLAW_ADMIN_DRAIN ||
                          r->op == CLAW_ADMIN_REMOVE || r->op == CLAW_ADMIN_RENAME;
    if (needs_container && get_name(o, "container", r->container, sizeof r->container, err) != 0)
        return -1;
    if (r->op == CLAW_ADMIN_RENAME && get_name(o, "to", r->to, sizeof r->to, err) != 0)
        return -1;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weight");
    if (r->op == CLAW_ADMIN_ADD && w) {
        if (!is_int_in(w, 0, 100))
            return claw_fail(err, CLAW_E_INVALID, 0, "admin: \"weight\" must be an integer from 0 to 100");
        r->weight = (int)w->valuedouble;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "timeout");
    if ((r->op == CLAW_ADMIN_DRAIN || r->op == CLAW_ADMIN_PAUSE) && t) {
        if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0 && t->valuedouble <= 86400))
            return claw_fail(err, CLAW_E_INVALID, 0, "admin: \"timeout\" must be seconds from 0 to 86400");
        r->timeout = t->valuedouble;
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "sticky");
    if (s && (r->op == CLAW_ADMIN_WEIGHT || r->op == CLAW_ADMIN_CREATE)) {
        if (!cJSON_IsBool(s))
            return claw_fail(err, CLAW_E_INVALID, 0, "admin: \"sticky\" must be true or false");
        r->sticky = cJSON_IsTrue(s);
    }
    if ((r->op == CLAW_ADMIN_PAUSE || r->op == CLAW_ADMIN_RESUME) &&
        cJSON_GetObjectItemCaseSensitive(o, "holder") &&
        get_name(o, "holder", r->holder, sizeof r->holder, err) != 0)
        return -1;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "all");
    if (a && r->op == CLAW_ADMIN_RESUME) {
        if (!cJSON_IsBool(a))
            return claw_fail(err, CLAW_E_INVALID, 0, "admin: \"all\" must be true or false");
        r->all = cJSON_IsTrue(a);
    }
    if (r->op == CLAW_ADMIN_WEIGHT)
        return get_weights(o, r, err);
    if (r->op == CLAW_ADMIN_CREATE)
        return get_listen(o, r, err);
    return 0;
}

/* cJSON ends a string at a NUL, so "a\u0000b" would read as the name "a": a command
 * with the escape anywhere is refused rather than read as something it does not say.
 * (Raw NUL bytes are not JSON and are refused before parsing.) */
static int has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && n - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* the escaped character: "\\u0000" is a backslash and "u0000" */
    }
    return 0;
}

int claw_admin_parse(const char *line, size_t len, claw_admin_req *r, claw_err *err)
{
    memset(r, 0, sizeof *r);
    r->weight = r->sticky = -1;
    r->timeout = -1;
    if (len > CLAW_ADMIN_MAX_LINE)
        return claw_fail(err, CLAW_E_INVALID, 0, "admin: command longer than %d bytes",
                         CLAW_ADMIN_MAX_LINE);
    const char *end = NULL;
    const char *nul = memchr(line, '\0', len);
    cJSON *o = nul ? NULL : cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!o) {
        size_t at = nul ? (size_t)(nul - line) : end && end >= line ? (size_t)(end - line) : 0;
        return claw_fail(err, CLAW_E_PARSE, 0, "admin: invalid JSON at byte %zu", at);
    }
    /* One command a line: only whitespace may follow it. */
    size_t rest = end && end >= line && end <= line + len ? (size_t)(end - line) : len;
    while (rest < len && (line[rest] == ' ' || line[rest] == '\t' || line[rest] == '\r' ||
                          line[rest] == '\n'))
        rest++;
    int rc = -1;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    if (rest < len)
        claw_fail(err, CLAW_E_PARSE, 0, "admin: text after the command at byte %zu", rest);
    else if (has_nul_escape(line, len))
        claw_fail(err, CLAW_E_INVALID, 0, "admin: strings must not contain \\u0000");
    else if (!cJSON_IsObject(o))
        claw_fail(err, CLAW_E_INVALID, 0, "admin: a command is a JSON object");
    else if (!cJSON_IsString(op))
        claw_fail(err, CLAW_E_INVALID, 0, "admin: \"op\" is missing");
    else {
        size_t i = 0;
        while (i < sizeof ops / sizeof *ops && strcmp(ops[i].name, op->valuestring) != 0)
            i++;
        if (i == sizeof ops / sizeof *ops)
            claw_fail(err, CLAW_E_INVALID, 0, "admin: unknown op \"%.40s\"", op->valuestring);
        else {
            r->op = ops[i].op;
            rc = get_fields(o, r, err);
        }
    }
    cJSON_Delete(o);
    if (rc != 0)
        claw_admin_req_free(r);
    return rc;
}

void claw_admin_req_free(claw_admin_req *r)
{
    cJSON_Delete(r->weights);
    cJSON_Delete(r->listen);
    r->weights = r->listen = NULL;
}

const char *claw_admin_default_path(void)
{
    const char *env = getenv("CLAWENGINE_ADMIN");
    return env && *env ? env : "/run/clawengine/admin.sock";
}

/* ---- client ---- */

static int connect_unix(const char *path, claw_err *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        return claw_fail(err, CLAW_E_INVALID, 0, "admin socket path too long: %s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* A daemon too busy to accept (its backlog full) makes connect wait: 5 s at most. */
    struct timeval tv = { .tv_sec = 5 };
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return claw_fail(err, CLAW_E_UNREACHABLE, 0,
                         "cannot reach the clawengine daemon at %s: %s%s", path, strerror(e),
                         e == ENOENT || e == ECONNREFUSED ? " (is `clawengine daemon` running?)" : "");
    }
    return fd;
}

/* Waits for fd to be readable, or the cancel pipe, or the deadline. */
static int wait_readable(int fd, double deadline, const claw_cancel *cancel, claw_err *err)
{
    for (;;) {
        if (claw_cancel_pending(cancel))
            return claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
        double left = deadline > 0 ? deadline - claw_clock_monotonic() : 3600;
        if (left <= 0)
            return claw_fail(err, CLAW_E_TIMEOUT, 0, "the clawengine daemon did not answer in time");
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
                               { .fd = cancel ? cancel->rfd : -1, .events = POLLIN } };
        if (poll(p, 2, (int)(left * 1000) + 1) > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            return 0;
    }
}

static int answer_error(cJSON *a, claw_err *err)
{
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(a, "error"));
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(a, "code"));
    return claw_fail(err, code ? code : CLAW_E_INVALID, 0, "%s", msg ? msg : "the daemon refused");
}

/* Sends line on fd and reads the answer line. Descriptors passed with it
 * (SCM_RIGHTS) go to fds when fds is given (at most max, *nfds of them), else are
 * closed. The answer must say "ok": true. */
static int exchange(int fd, const char *line, double timeout, const claw_cancel *cancel,
                    int *fds, int max, int *nfds, cJSON **answer, claw_err *err)
{
    *answer = NULL;
    if (nfds)
        *nfds = 0;
    claw_buf in;
    claw_buf_init(&in);
    size_t len = strlen(line);
    int rc = send(fd, line, len, MSG_NOSIGNAL) == (ssize_t)len
                 ? 0 : claw_fail_errno(err, errno, "cannot write to the clawengine daemon");
    double deadline = timeout > 0 ? claw_clock_monotonic() + timeout : 0;
    while (rc == 0 && !(in.data && memchr(in.data, '\n', in.len))) {
        char buf[4096];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int) * CLAW_ADMIN_MAX_FDS)];
        } ctl;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
                              .msg_controllen = sizeof ctl.space };
        rc = wait_readable(fd, deadline, cancel, err);
        ssize_t n = rc == 0 ? recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) : -1;
        for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t j = 0; j < k; j++) {
                int got;
                memcpy(&got, CMSG_DATA(c) + j * sizeof(int), sizeof got);
                if (fds && *nfds < max)
                    fds[(*nfds)++] = got;
                else
                    close(got);
            }
        }
        if (rc == 0 && n <= 0)
            rc = claw_fail(err, CLAW_E_UNREACHABLE, 0, "the clawengine daemon closed the connection");
        if (rc == 0)
            claw_buf_add(&in, buf, (size_t)n);
    }
    if (rc == 0) {
        *answer = cJSON_Parse(in.data);
        if (!*answer)
            rc = claw_fail(err, CLAW_E_PARSE, 0, "the clawengine daemon answered malformed JSON");
        else if (!cJSON_IsTrue(cJSON_GetObjectItem(*answer, "ok"))) {
            rc = answer_error(*answer, err);
            cJSON_Delete(*answer);
            *answer = NULL;
        }
    }
    if (rc != 0 && fds) {
        for (int j = 0; j < *nfds; j++)
            close(fds[j]);
        *nfds = 0;
    }
    claw_buf_free(&in);
    return rc;
}

/* A daemon that answered "busy" (it is handing over to a new one) is asked again
 * every 50 ms, on a new connection, until `until` (monotonic). 1 to ask again. */
static int again(const claw_err *err, double until, const claw_cancel *cancel)
{
    if (strcmp(err->code, CLAW_E_BUSY) != 0 || claw_clock_monotonic() + 0.05 > until)
        return 0;
    struct pollfd p = { .fd = cancel ? cancel->rfd : -1, .events = POLLIN };
    return poll(&p, 1, 50) == 0;
}

int claw_admin_call(const char *socket_path, const cJSON *req, double timeout,
                    const claw_cancel *cancel, cJSON **answer, claw_err *err)
{
    *answer = NULL;
    char *text = cJSON_PrintUnformatted(req);
    claw_buf out;
    claw_buf_init(&out);
    claw_buf_printf(&out, "%s\n", text ? text : "{}");
    free(text);
    double until = claw_clock_monotonic() + CLAW_ADMIN_BUSY_WAIT;
    int rc;
    do {
        int fd = connect_unix(socket_path, err);
        if (fd < 0) {
            rc = -1;
            break;
        }
        rc = exchange(fd, out.data, timeout, cancel, NULL, 0, NULL, answer, err);
        close(fd);
    } while (rc != 0 && again(err, until, cancel));
    claw_buf_free(&out);
    return rc;
}

int claw_admin_handover(const char *socket_path, double timeout, int *fds, int max, int *nfds,
                        cJSON **answer, claw_err *err)
{
    double until = claw_clock_monotonic() + CLAW_ADMIN_BUSY_WAIT;
    int fd, rc;
    do {
        if ((fd = connect_unix(socket_path, err)) < 0)
            return -1;
        rc = exchange(fd, "{\"op\":\"handover\"}\n", timeout, NULL, fds, max, nfds, answer, err);
        if (rc != 0)
            close(fd);
    } while (rc != 0 && again(err, until, NULL));
    if (rc != 0)
        return -1;
    if (cJSON_GetArraySize(cJSON_GetObjectItem(*answer, "listen")) != *nfds) {
        for (int j = 0; j < *nfds; j++)
            close(fds[j]);
        *nfds = 0;
        cJSON_Delete(*answer);
        *answer = NULL;
        close(fd);
        return claw_fail(err, CLAW_E_PARSE, 0,
                         "the clawengine daemon at %s named other listening sockets than it passed",
                         socket_path);
    }
    return fd;
}

int claw_admin_retire(int fd, double timeout, claw_err *err)
{
    cJSON *answer;
    int rc = exchange(fd, "{\"op\":\"retire\"}\n", timeout, NULL, NULL, 0, NULL, &answer, err);
    cJSON_Delete(answer);
    close(fd);
    return rc;
}
