/* Child processes: the daemon and policies/scheduled.lua run policies as
 * `clawengine run` children, so that a crashing policy cannot take its parent down.
 * A child is watched through a pidfd, which poll/epoll can wait on beside other file
 * descriptors (the cancel pipe, the daemon's sockets). */
#ifndef CLAW_PROC_H
#define CLAW_PROC_H

#include <sys/types.h>

#include "cancel.h"
#include "err.h"

typedef struct claw_spawn_opts {
    const char *const *env; /* extra "NAME=VALUE" entries, NULL-terminated; may be NULL */
    int capture;            /* 1: the child's stdout and stderr go to one pipe (out_fd) */
    int group;              /* 1: the child leads a new process group */
    int fd3;                /* > 2: given to the child as its descriptor 3; 0: none */
} claw_spawn_opts;

typedef struct claw_child {
    pid_t pid;  /* 0 once reaped */
    int pidfd;  /* readable when the child has ended; -1 once closed (claw_child_close) */
    int out_fd; /* read end of the captured output (non-blocking), else -1 */
    int status; /* once reaped: the exit code, or 128 + the signal number */
} claw_child;

/* Starts argv[0] (searched in PATH when it has no slash) with argv. stdin is
 * /dev/null. Returns 0, or -1 when the program cannot be started. */
int claw_spawn(const char *const *argv, const claw_spawn_opts *o, claw_child *c, claw_err *err);

/* Reaps the child if it has ended: returns 1 and its status (the exit code, or 128 +
 * the signal number when a signal ended it), 0 if it is still running. Once reaped
 * it keeps answering 1 with the same status. The pidfd stays open until
 * claw_child_close, so that a caller can take it out of its epoll set first. */
int claw_child_poll(claw_child *c, int *status);

/* Waits up to `timeout` seconds (< 0: no limit) for the child to end. Returns 1 with
 * *status, 0 on timeout, -1 with err when interrupted through `cancel` (may be NULL). */
int claw_child_wait(claw_child *c, double timeout, const claw_cancel *cancel, int *status,
                    claw_err *err);

/* Sends sig to the child (to its group when it leads one). */
int claw_child_kill(const claw_child *c, int sig);

/* Closes the descriptors. A child still running is left running (not reaped). */
void claw_child_close(claw_child *c);

#endif
