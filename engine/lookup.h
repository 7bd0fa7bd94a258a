/* Backend addresses for the daemon, asked of a child process. The daemon maps no
 * libcurl (it would cost it most of its memory, docs/proxy.md), so it does not talk
 * to Docker: `clawengine --json route resolve CONTAINER PORT` does, and prints one
 * JSON line. The child is watched through its pidfd in the daemon's loop, so the
 * loop goes on serving while Docker answers. */
#ifndef CLAW_LOOKUP_H
#define CLAW_LOOKUP_H

#include <sys/socket.h>

#include "err.h"
#include "proxy.h"

#define CLAW_LOOKUP_TIMEOUT 10.0 /* seconds; then the child is killed */

typedef struct claw_lookups claw_lookups;

/* Called once per lookup: with the address, or with addr NULL and the error (the
 * message Docker gave, e.g. "No such container: x"). */
typedef void (*claw_lookup_done)(void *ud, const struct sockaddr *addr, socklen_t len,
                                 const claw_err *err);

/* exe: clawengine, which the children are; docker_host: its -H (may be NULL). The
 * strings are copied. */
claw_lookups *claw_lookups_new(claw_proxy *loop, const char *exe, const char *docker_host);
/* Kills the children still asking; each of their callbacks gets an "interrupted"
 * error, so that whoever waits on them can answer and free what it holds. */
void claw_lookups_free(claw_lookups *l);

/* Starts a lookup; done is called later from the loop (never from here). */
int claw_lookup(claw_lookups *l, const char *container, int port, claw_lookup_done done,
                void *ud, claw_err *err);
/* How many lookups are under way. */
int claw_lookups_pending(const claw_lookups *l);
/* Kills children past their deadline; returns the seconds until the next (< 0: none). */
double claw_lookups_tick(claw_lookups *l);

/* The answer of the child (its output and exit status) as an address or an error;
 * separate so that it is unit-tested. */
int claw_lookup_answer(const char *out, int status, struct sockaddr_storage *ss,
                       socklen_t *len, claw_err *err);

#endif
