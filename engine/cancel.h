/* Cancellation: how SIGINT/SIGTERM reach a blocking call. main.c owns the one
 * instance; its signal handler calls claw_cancel_raise (async-signal-safe: a flag
 * and one byte down a pipe), and every wait in the engine polls the pipe's read end
 * beside its own file descriptors, so an interrupt ends the wait at once. */
#ifndef CLAW_CANCEL_H
#define CLAW_CANCEL_H

#include <signal.h>

typedef struct claw_cancel {
    volatile sig_atomic_t pending; /* an interrupt not yet acted upon */
    int rfd, wfd;                  /* self-pipe, both ends non-blocking */
} claw_cancel;

int claw_cancel_init(claw_cancel *c);
void claw_cancel_close(claw_cancel *c);
void claw_cancel_raise(claw_cancel *c); /* async-signal-safe */
int claw_cancel_pending(const claw_cancel *c);
/* Acts upon the pending interrupt: clears it and empties the pipe, so that the
 * cleanup code that runs next (to-be-closed variables) can still make calls. */
void claw_cancel_consume(claw_cancel *c);
/* Sleeps for `seconds`; returns 0, or -1 at once when interrupted. c may be NULL. */
int claw_cancel_sleep(const claw_cancel *c, double seconds);

#endif
