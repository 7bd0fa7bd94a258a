/* Child processes: exit codes, signals, captured output, environment, timeouts. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"

/* Runs argv to its end and returns its status; the captured output goes to out. */
static int run(const char *const *argv, const char *const *env, char *out, size_t size)
{
    claw_child c;
    claw_err e;
    claw_spawn_opts o = { .env = env, .capture = 1 };
    if (claw_spawn(argv, &o, &c, &e) != 0) return -1;
    int st = -1;
    CHECK_INT(claw_child_wait(&c, 10, NULL, &st, &e), 1);
    ssize_t n = read(c.out_fd, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    claw_child_close(&c);
    return st;
}

int main(void)
{
    char out[256];
    const char *exit3[] = { "sh", "-c", "echo to-out; echo to-err >&2; exit 3", NULL };
    CHECK_INT(run(exit3, NULL, out, sizeof out), 3);
    CHECK_STR(out, "to-out\nto-err\n");

    const char *killed[] = { "sh", "-c", "kill -KILL $$", NULL };
    CHECK_INT(run(killed, NULL, out, sizeof out), 128 + SIGKILL);

    /* A child gets the standard descriptors only, even those the parent left open
     * across an exec (it closes the others before its exec: see claw_spawn). */
    int open_fd = dup(1); /* no close-on-exec */
    char probe[64];
    snprintf(probe, sizeof probe, "test -e /proc/self/fd/%d && echo held || echo closed", open_fd);
    const char *fds[] = { "sh", "-c", probe, NULL };
    CHECK_INT(run(fds, NULL, out, sizeof out), 0);
    CHECK_STR(out, "closed\n");
    close(open_fd);

    /* An extra entry replaces the inherited one of the same name. */
    setenv("CLAW_PROC_TEST", "inherited", 1);
    const char *env[] = { "CLAW_PROC_TEST=given", "CLAW_PROC_OTHER=x", NULL };
    const char *echo[] = { "sh", "-c", "printf %s-%s \"$CLAW_PROC_TEST\" \"$CLAW_PROC_OTHER\"", NULL };
    CHECK_INT(run(echo, env, out, sizeof out), 0);
    CHECK_STR(out, "given-x");

    /* A parent's blocked signals are not the child's. */
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    claw_child c;
    claw_err e;
    const char *sleeper[] = { "sleep", "30", NULL };
    CHECK_INT(claw_spawn(sleeper, &(claw_spawn_opts){ .group = 1 }, &c, &e), 0);
    int st = -1;
    CHECK_INT(claw_child_poll(&c, &st), 0);
    CHECK_INT(claw_child_wait(&c, 0.05, NULL, &st, &e), 0);
    CHECK_INT(getpgid(c.pid), c.pid);
    CHECK_INT(claw_child_kill(&c, SIGTERM), 0);
    CHECK_INT(claw_child_wait(&c, 5, NULL, &st, &e), 1);
    CHECK_INT(st, 128 + SIGTERM);
    CHECK_INT(c.pid, 0);
    claw_child_close(&c);

    const char *missing[] = { "/nonexistent/clawengine", NULL };
    CHECK_INT(claw_spawn(missing, NULL, &c, &e), -1);
    CHECK_STR(e.message, "cannot start /nonexistent/clawengine: No such file or directory");
    return check_done();
}
