#define _GNU_SOURCE
#include "runs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "journal.h"
#include "paths.h"
#include "proc.h"

#define MAX_LINE 4096     /* a longer output line is logged in pieces */
#define KILL_AFTER 10.0   /* seconds from SIGTERM to SIGKILL */
#define MAX_ARGS 256

struct run;

/* A pipe from the child, read line by line: its output, or its reports. */
typedef struct pipe_in {
    claw_watch w;
    int fd;
    int reports;
    claw_buf part; /* a line not yet ended */
    struct run *run;
} pipe_in;

typedef struct pid_watch {
    claw_watch w;
    struct run *run;
} pid_watch;

typedef struct run {
    unsigned long id;
    char name[128];
    int trigger, record, timed_out;
    cJSON *rec; /* what is known so far: id, name, trigger, policy, args, started */
    claw_child child;
    pid_watch pw;
    pipe_in out, rep;
    double t0, deadline, kill_at; /* monotonic; 0: none */
    struct claw_runs *r;
    struct run *next;
} run;

struct claw_runs {
    claw_runs_opts o;   /* its strings point into the copies below */
    char exe[4096], admin[108], journal[4200], docker_host[1024];
    char policy_dir[4200]; /* the stock policies of exe, for a policy given by name */
    run *runs;
    int nruns;
    unsigned long next_id;
    cJSON *kept; /* records of ended runs, oldest first */
};

claw_runs *claw_runs_new(const claw_runs_opts *o)
{
    claw_runs *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->o = *o;
    snprintf(r->exe, sizeof r->exe, "%s", o->exe);
    snprintf(r->admin, sizeof r->admin, "%s", o->admin);
    snprintf(r->journal, sizeof r->journal, "%s", o->journal ? o->journal : "");
    r->o.exe = r->exe;
    char lua_dir[4200];
    claw_find_dirs(r->exe, lua_dir, r->policy_dir, sizeof r->policy_dir);
    r->o.admin = r->admin;
    r->o.journal = r->journal;
    snprintf(r->docker_host, sizeof r->docker_host, "%s", o->docker_host ? o->docker_host : "");
    r->o.docker_host = r->docker_host;
    r->next_id = 1;
    r->kept = cJSON_CreateArray();
    return r;
}

/* ---- the child's pipes ---- */

static void line_out(pipe_in *p, const char *s, size_t n)
{
    run *u = p->run;
    if (!p->reports) {
        claw_log_printf(u->r->o.log, CLAW_LOG_INFO, "run %s#%lu: %.*s", u->name, u->id, (int)n, s);
        return;
    }
    cJSON *rec = cJSON_ParseWithLength(s, n);
    if (!u->record) {
        /* not counted */
    } else if (!cJSON_IsObject(rec) || claw_metrics_report(u->r->o.metrics, rec) != 0) {
        if (!cJSON_IsObject(rec))
            u->r->o.metrics->reports_invalid++;
        claw_log_printf(u->r->o.log, CLAW_LOG_WARN, "run %s#%lu: report not understood: %.*s",
                        u->name, u->id, (int)(n > 200 ? 200 : n), s);
    }
    cJSON_Delete(rec);
}

/* Splits what arrived into lines; a line longer than MAX_LINE goes out in pieces. */
static void take_lines(pipe_in *p, const char *data, size_t n, int eof)
{
    claw_buf_add(&p->part, data, n);
    char *nl;
    while (p->part.len && (nl = memchr(p->part.data, '\n', p->part.len))) {
        size_t len = (size_t)(nl - p->part.data);
        line_out(p, p->part.data, len && nl[-1] == '\r' ? len - 1 : len);
        claw_buf_drop(&p->part, len + 1);
    }
    while (p->part.len >= MAX_LINE || (eof && p->part.len)) {
        size_t len = p->part.len < MAX_LINE ? p->part.len : MAX_LINE;
        line_out(p, p->part.data, len);
        claw_buf_drop(&p->part, len);
    }
}

static void pipe_close(claw_runs *r, pipe_in *p)
{
    if (p->fd < 0)
        return;
    take_lines(p, "", 0, 1);
    claw_proxy_unwatch(r->o.loop, p->fd);
    close(p->fd);
    p->fd = -1;
    claw_buf_free(&p->part);
}

/* Reads what the pipe holds now; closes it at its end. */
static void pipe_read(claw_runs *r, pipe_in *p)
{
    char buf[8192];
    for (int i = 0; i < 16 && p->fd >= 0; i++) {
        ssize_t n = read(p->fd, buf, sizeof buf);
        if (n > 0) {
            take_lines(p, buf, (size_t)n, 0);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            pipe_close(r, p);
        return;
    }
}

static void on_pipe(claw_watch *w, unsigned events)
{
    pipe_in *p = (pipe_in *)w;
    (void)events;
    if (p->fd >= 0)
        pipe_read(p->run->r, p);
}

/* ---- a run's end ---- */

static const char *result_of(const run *u, int status)
{
    if (u->timed_out)
        return "timed out";
    if (status == 0)
        return "succeeded";
    if (status == 130)
        return "interrupted";
    return status > 128 ? "killed" : "failed";
}

static void journal_add(claw_runs *r, const cJSON *rec)
{
    const char *path = r->o.journal;
    if (!path || !*path)
        return;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > CLAW_RUNS_JOURNAL_MAX) {
        char old[4200];
        snprintf(old, sizeof old, "%s.1", path);
        rename(path, old); /* one old generation is kept: history stays bounded */
    }
    claw_err err;
    if (claw_journal_append(path, rec, &err) != 0)
        claw_log_printf(r->o.log, CLAW_LOG_ERROR, "run history not written: %s", err.message);
}

static void keep(claw_runs *r, cJSON *rec)
{
    cJSON_AddItemToArray(r->kept, rec);
    while (cJSON_GetArraySize(r->kept) > CLAW_RUNS_KEPT)
        cJSON_DeleteItemFromArray(r->kept, 0);
}

static void unlink_run(claw_runs *r, run *u)
{
    run **pp = &r->runs;
    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp)
        *pp = u->next;
    r->nruns--;
}

/* The child has been reaped with `status`: the record is finished and handed on. */
static void ended(claw_runs *r, run *u, int status)
{
    pipe_read(r, &u->out); /* what it wrote last */
    pipe_read(r, &u->rep);
    pipe_close(r, &u->out); /* a grandchild holding them open is not waited for */
    pipe_close(r, &u->rep);
    claw_proxy_unwatch(r->o.loop, u->child.pidfd);
    claw_child_close(&u->child);
    double took = claw_clock_monotonic() - u->t0;
    const char *result = result_of(u, status);
    cJSON_AddNumberToObject(u->rec, "ended", claw_clock_now());
    cJSON_AddNumberToObject(u->rec, "duration", (double)(long long)(took * 1000) / 1000);
    cJSON_AddNumberToObject(u->rec, "exit_code", status);
    if (status > 128 && status != 130)
        cJSON_AddNumberToObject(u->rec, "signal", status - 128);
    cJSON_AddStringToObject(u->rec, "result", result);
    claw_log_printf(r->o.log, status == 0 ? CLAW_LOG_INFO : CLAW_LOG_WARN,
                    "run %s#%lu ended: %s, exit code %d, after %.1f s", u->name, u->id, result,
                    status, took);
    unlink_run(r, u);
    if (u->record) {
        r->o.metrics->runs_finished[u->trigger][status & 0xff]++;
        journal_add(r, u->rec);
        keep(r, u->rec);
    }
    if (r->o.on_end)
        r->o.on_end(r->o.ud, u->rec, u->record);
    if (!u->record)
        cJSON_Delete(u->rec);
    u->rec = NULL;
    claw_proxy_defer_free(r->o.loop, u); /* events of this pass may still name it */
}

static void on_pidfd(claw_watch *w, unsigned events)
{
    run *u = ((pid_watch *)w)->run;
    int status;
    (void)events;
    if (u->rec && u->child.pid > 0 && claw_child_poll(&u->child, &status) == 1)
        ended(u->r, u, status);
}

/* ---- starting ---- */

/* A policy named by a path that is not there is refused here, so that the caller can
 * say so at once; a bare name (or policies/NAME) may be a stock policy, which the
 * child finds itself (main.c, resolve_policy). */
/* A policy that `clawengine run` would not find is refused now (500 for the API),
 * rather than as a failed run later. */
static int policy_missing(const claw_runs *r, const char *policy, claw_err *err)
{
    char buf[4300];
    if (!policy || claw_policy_find(policy, r->policy_dir, buf, sizeof buf))
        return 0;
    if (strchr(policy, '/') && strncmp(policy, "policies/", 9) != 0)
        return claw_fail(err, CLAW_E_NOT_FOUND, 0, "policy %s: No such file or directory", policy);
    return claw_fail(err, CLAW_E_NOT_FOUND, 0, "policy %s: no such file, nor a stock policy of that name",
                     policy);
}

/* argv for the child, pointing into spec; NULL-terminated. */
static int build_argv(const claw_runs *r, const claw_run_spec *s, const char **argv)
{
    int n = 0;
    argv[n++] = r->o.exe;
    if (r->o.docker_host[0]) { /* the policy talks to the Docker the daemon was given */
        argv[n++] = "-H";
        argv[n++] = r->o.docker_host;
    }
    if (s->policy) {
        argv[n++] = "run";
        argv[n++] = s->policy;
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, s->args) {
        if (cJSON_IsString(a) && n < MAX_ARGS - 1)
            argv[n++] = a->valuestring;
    }
    for (int i = 0; s->targets && s->targets[i] && n < MAX_ARGS - 1; i++)
        argv[n++] = s->targets[i];
    argv[n] = NULL;
    return n;
}

static cJSON *new_record(const run *u, const claw_run_spec *s)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "kind", "run");
    cJSON_AddNumberToObject(rec, "id", (double)u->id);
    cJSON_AddStringToObject(rec, "name", u->name);
    cJSON_AddStringToObject(rec, "trigger", s->trigger == CLAW_TRIGGER_API ? "api" : "schedule");
    if (s->policy)
        cJSON_AddStringToObject(rec, "policy", s->policy);
    cJSON_AddItemToObject(rec, "args", s->args ? cJSON_Duplicate(s->args, 1) : cJSON_CreateArray());
    cJSON *t = cJSON_AddArrayToObject(rec, "targets");
    for (int i = 0; s->targets && s->targets[i]; i++)
        cJSON_AddItemToArray(t, cJSON_CreateString(s->targets[i]));
    cJSON_AddNumberToObject(rec, "started", claw_clock_now());
    return rec;
}

static void watch_pipe(claw_runs *r, run *u, pipe_in *p, int fd, int reports)
{
    *p = (pipe_in){ .w.on_event = on_pipe, .fd = fd, .reports = reports, .run = u };
    claw_buf_init(&p->part);
    if (fd >= 0)
        claw_proxy_watch(r->o.loop, fd, EPOLLIN, &p->w);
}

static int spawn(claw_runs *r, run *u, const claw_run_spec *s, claw_err *err)
{
    int rep[2];
    if (pipe2(rep, O_CLOEXEC) != 0)
        return claw_fail_errno(err, errno, "run %s: pipe", s->name);
    /* Only the daemon's end is non-blocking: a policy's report waits for room. */
    fcntl(rep[0], F_SETFL, fcntl(rep[0], F_GETFL) | O_NONBLOCK);
    char admin[200], who[200];
    snprintf(admin, sizeof admin, "CLAWENGINE_ADMIN=%s", r->o.admin);
    snprintf(who, sizeof who, "CLAWENGINE_RUN=%s#%lu", u->name, u->id);
    const char *env[] = { admin, who, "CLAWENGINE_REPORT_FD=3", NULL };
    const char *argv[MAX_ARGS];
    build_argv(r, s, argv);
    claw_spawn_opts o = { .env = env, .capture = 1, .group = 1, .fd3 = rep[1] };
    int rc = claw_spawn(argv, &o, &u->child, err);
    close(rep[1]); /* the child has its copy: the pipe ends when the child's ends */
    if (rc != 0) {
        close(rep[0]);
        return -1;
    }
    watch_pipe(r, u, &u->out, u->child.out_fd, 0);
    u->child.out_fd = -1; /* owned by u->out now */
    watch_pipe(r, u, &u->rep, rep[0], 1);
    u->pw = (pid_watch){ .w.on_event = on_pidfd, .run = u };
    claw_proxy_watch(r->o.loop, u->child.pidfd, EPOLLIN, &u->pw.w);
    return 0;
}

int claw_runs_start(claw_runs *r, const claw_run_spec *s, unsigned long *id, claw_err *err)
{
    run *u = calloc(1, sizeof *u);
    if (!u)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    u->id = s->record ? r->next_id : 0; /* ids number the runs that are kept */
    u->r = r;
    u->trigger = s->trigger;
    u->record = s->record;
    snprintf(u->name, sizeof u->name, "%s", s->name);
    u->t0 = claw_clock_monotonic();
    u->deadline = s->timeout > 0 ? u->t0 + s->timeout : 0;
    if (policy_missing(r, s->policy, err) != 0 || spawn(r, u, s, err) != 0) {
        if (s->record)
            r->o.metrics->runs_refused[s->trigger]++;
        free(u);
        return -1;
    }
    r->next_id += s->record ? 1 : 0;
    u->rec = new_record(u, s);
    u->next = r->runs;
    r->runs = u;
    r->nruns++;
    if (s->record)
        r->o.metrics->runs_started[s->trigger]++;
    claw_log_printf(r->o.log, CLAW_LOG_INFO, "run %s#%lu started: pid %d, %s", u->name, u->id,
                    (int)u->child.pid, s->policy ? s->policy : "clawengine's own command");
    if (id)
        *id = u->id;
    return 0;
}

unsigned long claw_runs_running(const claw_runs *r, const char *name)
{
    for (const run *u = r->runs; u; u = u->next)
        if (strcmp(u->name, name) == 0)
            return u->id;
    return 0;
}

int claw_runs_count(const claw_runs *r, int recorded_only)
{
    if (!recorded_only)
        return r->nruns;
    int n = 0;
    for (const run *u = r->runs; u; u = u->next)
        n += u->record;
    return n;
}

double claw_runs_tick(claw_runs *r)
{
    double now = claw_clock_monotonic(), next = -1;
    for (run *u = r->runs; u; u = u->next) {
        if (u->deadline && now >= u->deadline && !u->timed_out) {
            claw_log_printf(r->o.log, CLAW_LOG_WARN, "run %s#%lu: timed out; stopping it",
                            u->name, u->id);
            u->timed_out = 1;
            claw_child_kill(&u->child, SIGTERM);
            u->kill_at = now + KILL_AFTER;
        }
        if (u->kill_at && now >= u->kill_at) {
            claw_child_kill(&u->child, SIGKILL);
            u->kill_at = 0;
        }
        double due = u->kill_at ? u->kill_at : !u->timed_out && u->deadline ? u->deadline : 0;
        if (due && (next < 0 || due - now < next))
            next = due - now > 0 ? due - now : 0;
    }
    return next;
}

void claw_runs_terminate(claw_runs *r)
{
    double now = claw_clock_monotonic();
    for (run *u = r->runs; u; u = u->next) {
        claw_child_kill(&u->child, SIGTERM);
        if (!u->kill_at || u->kill_at > now + KILL_AFTER)
            u->kill_at = now + KILL_AFTER;
    }
}

cJSON *claw_runs_kept(const claw_runs *r)
{
    return cJSON_Duplicate(r->kept, 1);
}

cJSON *claw_runs_active(const claw_runs *r)
{
    cJSON *a = cJSON_CreateArray();
    for (const run *u = r->runs; u; u = u->next) {
        if (!u->record)
            continue;
        cJSON *rec = cJSON_Duplicate(u->rec, 1);
        cJSON_AddNumberToObject(rec, "pid", (double)u->child.pid);
        cJSON_AddItemToArray(a, rec);
    }
    return a;
}

const cJSON *claw_runs_last(const claw_runs *r, const char *name)
{
    const cJSON *last = NULL, *e;
    cJSON_ArrayForEach(e, r->kept) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
        if (n && strcmp(n, name) == 0)
            last = e;
    }
    return last;
}

void claw_runs_restore(claw_runs *r, const cJSON *saved)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, saved) {
        const cJSON *id = cJSON_GetObjectItem(e, "id");
        if (!cJSON_IsObject(e) || !cJSON_IsNumber(id) || !cJSON_IsString(cJSON_GetObjectItem(e, "name")))
            continue;
        keep(r, cJSON_Duplicate(e, 1));
        if (id->valuedouble >= (double)r->next_id)
            r->next_id = (unsigned long)id->valuedouble + 1;
    }
}

void claw_runs_free(claw_runs *r)
{
    if (!r)
        return;
    while (r->runs) {
        run *u = r->runs;
        int status = 137;
        claw_child_kill(&u->child, SIGKILL);
        if (claw_child_wait(&u->child, 2, NULL, &status, NULL) != 1)
            u->child.pid = 0; /* not reaped: nothing more to do than let it go */
        ended(r, u, status);
    }
    cJSON_Delete(r->kept);
    free(r);
}
