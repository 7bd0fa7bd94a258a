#define _GNU_SOURCE
#include "cancel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include "clock.h"
#include <unistd.h>

int claw_cancel_init(claw_cancel *c)
{
    int fds[2];
    c->pending = 0;
    c->rfd = c->wfd = -1;
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    c->rfd = fds[0];
    c->wfd = fds[1];
    return 0;
}

void claw_cancel_close(claw_cancel *c)
{
    if (c->rfd >= 0)
        close(c->rfd);
    if (c->wfd >= 0)
        close(c->wfd);
    c->rfd = c->wfd = -1;
}

void claw_cancel_raise(claw_cancel *c)
{
    int saved = errno;
    c->pending = 1;
    if (c->wfd >= 0) {
        ssize_t n = write(c->wfd, "!", 1); /* a full pipe already wakes everyone */
        (void)n;
    }
    errno = saved;
}

int claw_cancel_pending(const claw_cancel *c)
{
    return c && c->pending;
}

void claw_cancel_consume(claw_cancel *c)
{
    char buf[64];
    c->pending = 0;
    while (c->rfd >= 0 && read(c->rfd, buf, sizeof buf) > 0)
        ;
}

int claw_cancel_sleep(const claw_cancel *c, double seconds)
{
    double end = claw_clock_monotonic() + (seconds > 0 ? seconds : 0);
    for (;;) {
        if (claw_cancel_pending(c))
            return -1;
        double left = end - claw_clock_monotonic();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = c ? c->rfd : -1, .events = POLLIN };
        int ms = left > 3600 ? 3600000 : (int)(left * 1000.0 + 0.999);
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
            return 0;
    }
}
