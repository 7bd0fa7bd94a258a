/* Policy runs of the daemon (POST /v1/update, schedules, the recover at start). Each
 * is `clawengine run POLICY ARG...` in a child process of its own process group, so a
 * policy that crashes or hangs cannot take the traffic switch down. The child's
 * stdin is /dev/null; its stdout and stderr go to the daemon's log line by line,
 * prefixed with the run's name and id; its descriptor 3 is a pipe for
 * engine.report() records (CLAWENGINE_REPORT_FD=3), counted into the metrics as
 * they come. Everything is driven by the daemon's epoll loop: nothing blocks.
 *
 * A run that ended is kept (the last CLAW_RUNS_KEPT, for /v1/status and `schedule
 * list`) and appended to the runs journal, <state dir>/runs.jsonl, which
 * `clawengine history` shows. */
#ifndef CLAW_RUNS_H
#define CLAW_RUNS_H

#include <cjson/cJSON.h>

#include "err.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"

#define CLAW_RUNS_KEPT 20
#define CLAW_RUNS_JOURNAL_MAX (1024 * 1024) /* then runs.jsonl becomes runs.jsonl.1 */

typedef struct claw_runs claw_runs;

typedef struct claw_run_spec {
    const char *name;    /* a schedule's name, "update" (the API), "recover" */
    int trigger;         /* CLAW_TRIGGER_API or CLAW_TRIGGER_SCHEDULE */
    const char *policy;  /* NULL: args are a command of clawengine's own */
    const cJSON *args;   /* array of strings; may be NULL */
    const char *const *targets; /* appended after args (container names); may be NULL */
    double timeout;      /* seconds, then SIGTERM (SIGKILL 10 s later); 0: none */
    int record;          /* 0: not kept, not counted, not in the journal (recover) */
} claw_run_spec;

/* Called when a run has ended, with its record; `recorded` as its spec said. */
typedef void (*claw_run_ended)(void *ud, const cJSON *record, int recorded);

typedef struct claw_runs_opts {
    claw_proxy *loop;
    const claw_log *log;
    claw_metrics *metrics;
    const char *exe;     /* this program, to run as the child */
    const char *docker_host; /* the daemon's -H, passed on to the child; may be NULL */
    const char *admin;   /* the admin socket, as CLAWENGINE_ADMIN for the child */
    const char *journal; /* runs journal path ("" for none) */
    claw_run_ended on_end;
    void *ud;
} claw_runs_opts;

/* The strings of o are copied. */
claw_runs *claw_runs_new(const claw_runs_opts *o);
/* Kills what still runs (SIGKILL to each group), reaps it, frees everything. */
void claw_runs_free(claw_runs *r);

/* Starts a run; its id in *id. Fails (nothing started) when the policy file is
 * missing or the process cannot be made. */
int claw_runs_start(claw_runs *r, const claw_run_spec *s, unsigned long *id, claw_err *err);
/* The id of the running run of that name, else 0. */
unsigned long claw_runs_running(const claw_runs *r, const char *name);
/* Runs going on: all of them (the recover at start too), or only the recorded ones
 * (the API's and the schedules'). */
int claw_runs_count(const claw_runs *r, int recorded_only);

/* Timeouts; returns the seconds until the next is due (< 0: none). */
double claw_runs_tick(claw_runs *r);
/* SIGTERM to every run (its process group): the daemon is stopping. */
void claw_runs_terminate(claw_runs *r);

/* The kept runs, oldest first, and those going on, as JSON arrays (new objects). */
cJSON *claw_runs_kept(const claw_runs *r);
cJSON *claw_runs_active(const claw_runs *r);
/* The last kept run of that name (borrowed), or NULL. */
const cJSON *claw_runs_last(const claw_runs *r, const char *name);
/* Takes kept runs back from the saved state (an array of records). */
void claw_runs_restore(claw_runs *r, const cJSON *saved);

#endif
