#define _GNU_SOURCE
#include "lookup.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "proc.h"

typedef struct lookup {
    claw_watch w; /* on the child's pidfd */
    claw_lookups *l;
    claw_child child;
    double deadline;
    int timed_out;
    char container[128];
    claw_lookup_done done;
    void *ud;
    struct lookup *next;
} lookup;

struct claw_lookups {
    claw_proxy *loop;
    char exe[4096], docker_host[1024];
    lookup *list;
};

claw_lookups *claw_lookups_new(claw_proxy *loop, const char *exe, const char *docker_host)
{
    claw_lookups *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->loop = loop;
    snprintf(l->exe, sizeof l->exe, "%s", exe);
    snprintf(l->docker_host, sizeof l->docker_host, "%s", docker_host ? docker_host : "");
    return l;
}

static void unlink_lookup(claw_lookups *l, lookup *k)
{
    lookup **p = &l->list;
    while (*p && *p != k)
        p = &(*p)->next;
    if (*p)
        *p = k->next;
}

int claw_lookup_answer(const char *out, int status, struct sockaddr_storage *ss,
                       socklen_t *len, claw_err *err)
{
    /* The JSON line is the last line that starts with '{'; anything before it is a
     * log line of the child's. */
    const char *line = NULL;
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (*p == '{')
            line = p;
    cJSON *a = line ? cJSON_ParseWithOpts(line, NULL, 0) : NULL;
    const char *addr = cJSON_GetStringValue(cJSON_GetObjectItem(a, "address"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(a, "error"));
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(a, "code"));
    int rc;
    if (status == 0 && addr)
        rc = claw_parse_addr(addr, ss, len, err);
    else if (msg)
        rc = claw_fail(err, code && strlen(code) < sizeof err->code ? code : CLAW_E_DAEMON, 0,
                       "%s", msg);
    else
        rc = claw_fail(err, CLAW_E_IO, 0, "`clawengine route resolve` ended with status %d: %.500s",
                       status, *out ? out : "no output");
    cJSON_Delete(a);
    return rc;
}

/* Everything the child printed; it is small (one line), so the pipe held it all. */
static void read_all(int fd, claw_buf *b)
{
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            claw_buf_add(b, chunk, (size_t)n);
    claw_buf_add(b, "", 1);
}

static void finish(lookup *k, int status)
{
    claw_buf out;
    claw_buf_init(&out);
    read_all(k->child.out_fd, &out);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    claw_err err;
    int rc = k->timed_out
        ? claw_fail(&err, CLAW_E_TIMEOUT, 0, "Docker did not tell where container %s answers "
                    "within %.0f s", k->container, CLAW_LOOKUP_TIMEOUT)
        : claw_lookup_answer(out.data, status, &ss, &len, &err);
    claw_buf_free(&out);
    k->done(k->ud, rc == 0 ? (struct sockaddr *)&ss : NULL, len, rc == 0 ? NULL : &err);
}

static void on_end(claw_watch *w, unsigned events)
{
    lookup *k = (lookup *)w;
    int status;
    (void)events;
    if (k->child.pid <= 0 || !claw_child_poll(&k->child, &status))
        return;
    unlink_lookup(k->l, k);
    finish(k, status);
    /* Out of the epoll set before the close (proc.c, claw_child_poll says why). */
    claw_proxy_unwatch(k->l->loop, k->child.pidfd);
    claw_child_close(&k->child);
    claw_proxy_defer_free(k->l->loop, k);
}

int claw_lookup(claw_lookups *l, const char *container, int port, claw_lookup_done done,
                void *ud, claw_err *err)
{
    lookup *k = calloc(1, sizeof *k);
    if (!k)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *argv[10];
    int n = 0;
    argv[n++] = l->exe;
    if (l->docker_host[0]) {
        argv[n++] = "-H";
        argv[n++] = l->docker_host;
    }
    const char *rest[] = { "--json", "route", "resolve", container, portstr, NULL };
    memcpy(argv + n, rest, sizeof rest);
    claw_spawn_opts o = { .capture = 1 };
    claw_child child;
    if (claw_spawn(argv, &o, &child, err) != 0) {
        free(k);
        return -1;
    }
    *k = (lookup){ .w.on_event = on_end, .l = l, .child = child, .done = done, .ud = ud,
                   .deadline = claw_clock_monotonic() + CLAW_LOOKUP_TIMEOUT, .next = l->list };
    snprintf(k->container, sizeof k->container, "%s", container);
    l->list = k;
    claw_proxy_watch(l->loop, k->child.pidfd, EPOLLIN, &k->w);
    return 0;
}

int claw_lookups_pending(const claw_lookups *l)
{
    int n = 0;
    for (const lookup *k = l ? l->list : NULL; k; k = k->next)
        n++;
    return n;
}

double claw_lookups_tick(claw_lookups *l)
{
    double now = claw_clock_monotonic(), next = -1;
    for (lookup *k = l ? l->list : NULL; k; k = k->next) {
        if (!k->timed_out && now >= k->deadline) {
            k->timed_out = 1; /* its pidfd tells when it is gone */
            claw_child_kill(&k->child, SIGKILL);
        }
        double left = k->timed_out ? 0.1 : k->deadline - now;
        if (next < 0 || left < next)
            next = left;
    }
    return next;
}

void claw_lookups_free(claw_lookups *l)
{
    if (!l)
        return;
    while (l->list) {
        lookup *k = l->list;
        l->list = k->next;
        claw_proxy_unwatch(l->loop, k->child.pidfd);
        claw_child_kill(&k->child, SIGKILL);
        int status;
        claw_child_wait(&k->child, -1, NULL, &status, NULL);
        claw_err err;
        claw_fail(&err, CLAW_E_INTERRUPTED, 0, "the daemon is stopping");
        k->done(k->ud, NULL, 0, &err);
        claw_child_close(&k->child);
        free(k);
    }
    free(l);
}
