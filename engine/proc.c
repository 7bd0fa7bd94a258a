/* Child processes started with posix_spawn and watched through a pidfd. */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

extern char **environ;

/* environ with `extra` laid over it (an extra NAME=... replaces the inherited NAME). */
static char **merged_env(const char *const *extra)
{
    size_t n = 0, k = 0;
    while (environ[n]) n++;
    while (extra && extra[k]) k++;
    char **env = calloc(n + k + 1, sizeof *env);
    if (!env) return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");
        int replaced = 0;
        for (size_t j = 0; j < k && !replaced; j++)
            replaced = strncmp(extra[j], environ[i], len) == 0 && extra[j][len] == '=';
        if (!replaced) env[m++] = environ[i];
    }
    for (size_t j = 0; j < k; j++) env[m++] = (char *)extra[j];
    return env;
}

/* What the child starts with: default dispositions and an empty signal mask whatever
 * the parent blocked (the daemon blocks SIGTERM and friends to read a signalfd). */
static int child_attrs(posix_spawnattr_t *a, int group)
{
    sigset_t none, deflt;
    sigemptyset(&none);
    sigemptyset(&deflt);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&deflt, sigs[i]);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (group) flags |= POSIX_SPAWN_SETPGROUP;
    if (posix_spawnattr_init(a) != 0) return -1;
    posix_spawnattr_setsigmask(a, &none);
    posix_spawnattr_setsigdefault(a, &deflt);
    posix_spawnattr_setpgroup(a, 0);
    posix_spawnattr_setflags(a, flags);
    return 0;
}

int claw_spawn(const char *const *argv, const claw_spawn_opts *o, claw_child *c, claw_err *err)
{
    static const claw_spawn_opts none = { 0 };
    if (!o) o = &none;
    *c = (claw_child){ .pid = 0, .pidfd = -1, .out_fd = -1, .status = 0 };
    int out[2] = { -1, -1 };
    if (o->capture && pipe2(out, O_CLOEXEC) != 0)
        return claw_fail_errno(err, errno, "cannot start %s: pipe", argv[0]);

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (o->capture) {
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    }
    /* dup2 clears close-on-exec on the copy, so the child keeps exactly this one. */
    if (o->fd3 > 2)
        posix_spawn_file_actions_adddup2(&fa, o->fd3, 3);
    /* Every other descriptor is closed before the exec, not by it: the parent resumes
     * as the exec begins, and a copy the child still held then would keep a socket the
     * parent closes in the parent's epoll set (the traffic switch closes connections
     * without taking them out of it first). */
    posix_spawn_file_actions_addclosefrom_np(&fa, o->fd3 > 2 ? 4 : 3);
    char **env = merged_env(o->env);
    int rc = ENOMEM;
    pid_t pid = 0;
    if (env && child_attrs(&attr, o->group) == 0) {
        rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, env);
        posix_spawnattr_destroy(&attr);
    }
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    if (out[1] >= 0) close(out[1]);
    if (rc != 0) {
        if (out[0] >= 0) close(out[0]);
        return claw_fail_errno(err, rc, "cannot start %s", argv[0]);
    }
    c->pid = pid;
    c->out_fd = out[0];
    if (c->out_fd >= 0) fcntl(c->out_fd, F_SETFL, fcntl(c->out_fd, F_GETFL) | O_NONBLOCK);
    /* The child cannot be reaped before this: only claw_child_poll reaps it. */
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (c->pidfd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        claw_child_close(c);
        c->pid = 0;
        return claw_fail_errno(err, e, "cannot watch %s: pidfd_open", argv[0]);
    }
    return 0;
}

int claw_child_poll(claw_child *c, int *status)
{
    if (c->pid <= 0) {
        *status = c->status;
        return 1;
    }
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == 0) return 0;
    if (r < 0) st = 0xff00; /* reaped elsewhere: report 255, not success */
    *status = c->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    c->pid = 0;
    /* The pidfd is not closed here: closed while still in an epoll set, it would stay
     * there as long as a child being spawned holds a copy (the parent resumes before
     * that child's exec closes it), and name freed memory in the next pass. */
    return 1;
}

int claw_child_wait(claw_child *c, double timeout, const claw_cancel *cancel, int *status,
                    claw_err *err)
{
    double deadline = timeout < 0 ? -1 : claw_clock_monotonic() + timeout;
    for (;;) {
        if (claw_child_poll(c, status)) return 1;
        if (cancel && claw_cancel_pending(cancel))
            return claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
        int ms = -1;
        if (deadline >= 0) {
            double left = deadline - claw_clock_monotonic();
            if (left <= 0) return 0;
            ms = (int)(left * 1000) + 1;
        }
        if (c->pidfd < 0 && (ms < 0 || ms > 50))
            ms = 50; /* closed already: look again, rather than never */
        struct pollfd p[2] = { { .fd = c->pidfd, .events = POLLIN },
                               { .fd = cancel ? cancel->rfd : -1, .events = POLLIN } };
        if (poll(p, 2, ms) < 0 && errno != EINTR)
            return claw_fail_errno(err, errno, "waiting for process %d", (int)c->pid);
    }
}

int claw_child_kill(const claw_child *c, int sig)
{
    if (c->pid <= 0) return 0;
    /* The pidfd names exactly this child, even were its pid reused. */
    if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) != 0) return -1;
    if (getpgid(c->pid) == c->pid) kill(-c->pid, sig);
    return 0;
}

void claw_child_close(claw_child *c)
{
    if (c->pidfd >= 0) close(c->pidfd);
    if (c->out_fd >= 0) close(c->out_fd);
    c->pidfd = c->out_fd = -1;
}
