/* The traffic switch: routes that listen on addresses and forward each TCP connection
 * to one backend, chosen by weight. Single-threaded, epoll-driven; connections are
 * spliced through a shared scratch buffer, and bytes are held per connection only
 * while the other side cannot take them (then reading stops: backpressure).
 * Backends are addresses here; which container they are is the daemon's business. */
#ifndef CLAW_PROXY_H
#define CLAW_PROXY_H

#include <cjson/cJSON.h>
#include <sys/socket.h>

#include "err.h"
#include "log.h"

typedef struct claw_proxy claw_proxy;

/* Something the loop watches: the first member of every watched object. */
typedef struct claw_watch {
    void (*on_event)(struct claw_watch *w, unsigned events);
} claw_watch;

typedef enum { CLAW_BACKEND_ACTIVE, CLAW_BACKEND_DRAINING } claw_backend_state;

/* Called once when a drain ends: forced = connections closed at the deadline (or
 * when the backend was removed), or -1 when the backend was put back in service
 * (added again, or switched to) before the drain ended. */
typedef void (*claw_drain_done)(void *ud, int forced);

claw_proxy *claw_proxy_new(const claw_log *log, double idle_timeout);
void claw_proxy_free(claw_proxy *p);

/* Extra file descriptors (the admin socket, a signalfd) join the same loop. */
int claw_proxy_watch(claw_proxy *p, int fd, unsigned events, claw_watch *w);
void claw_proxy_unwatch(claw_proxy *p, int fd);
/* Changes the events watched on fd. */
int claw_proxy_rewatch(claw_proxy *p, int fd, unsigned events, claw_watch *w);
/* Frees ptr after the current loop pass: an object whose fd had events in this pass
 * must stay readable until they are handled (they see it closed and skip). */
void claw_proxy_defer_free(claw_proxy *p, void *ptr);

/* Routes. listen: "host:port" or "[v6]:port" strings. No SO_REUSEPORT: an address
 * another process listens on is refused ("Address already in use"), a second daemon
 * included; a new daemon gets the old one's sockets instead (--takeover). */
int claw_proxy_route(claw_proxy *p, const char *name, const char *const *listen, int n,
                     int sticky, claw_err *err);
int claw_proxy_route_remove(claw_proxy *p, const char *name, claw_err *err);
/* Closes every listener (no new connections); existing ones go on. */
void claw_proxy_stop_listening(claw_proxy *p);

/* Backends, named by the caller (a container name). Adding one that exists updates its
 * address and puts it back in service when it drains. weight -1: an existing backend
 * keeps its weight; a new one gets 100 when it is the route's first, else 0. */
int claw_proxy_backend(claw_proxy *p, const char *route, const char *name,
                       const struct sockaddr *addr, socklen_t len, int weight, claw_err *err);
/* A backend's new address (its container got another IP), weight and state kept:
 * 1 when it changed, 0 when it was the same. */
int claw_proxy_backend_address(claw_proxy *p, const char *route, const char *name,
                               const struct sockaddr *addr, socklen_t len, claw_err *err);
int claw_proxy_weight(claw_proxy *p, const char *route, const char *name, int weight,
                      claw_err *err);
int claw_proxy_sticky(claw_proxy *p, const char *route, int sticky, claw_err *err);
/* weight 100 to name, 0 to every other backend of the route. */
int claw_proxy_switch(claw_proxy *p, const char *route, const char *name, claw_err *err);
/* Pause: connections accepted on the route from now on wait (unread, no backend)
 * until the pause ends; then they go to a backend as any new connection does.
 * Connections already open go on. Each pause has a holder (a name; pausing again
 * with the same holder sets its deadline again) and ends at its resume or after
 * `seconds`; the route waits while any is left. claw_proxy_resume with a holder ends
 * that one's pause (none: every pause). Both return how many pauses the route has
 * then; -1 for an unknown route, or a route with 16 holders already. */
int claw_proxy_pause(claw_proxy *p, const char *route, const char *holder, double seconds,
                     claw_err *err);
int claw_proxy_resume(claw_proxy *p, const char *route, const char *holder, claw_err *err);
/* Whether `holder` holds a pause of the route now. */
int claw_proxy_paused_by(const claw_proxy *p, const char *route, const char *holder);
int claw_proxy_drain(claw_proxy *p, const char *route, const char *name, double timeout,
                     claw_drain_done done, void *ud, claw_err *err);
int claw_proxy_backend_remove(claw_proxy *p, const char *route, const char *name,
                              claw_err *err);
/* Renames a backend; its connections and counters stay (the container it names was
 * renamed). */
int claw_proxy_backend_rename(claw_proxy *p, const char *route, const char *name,
                              const char *to, claw_err *err);
int claw_proxy_has_backend(const claw_proxy *p, const char *route, const char *name);
int claw_proxy_backend_count(const claw_proxy *p, const char *route);

/* {"routes":[{"name","listen","sticky","backends":[{...counters}]}]} */
cJSON *claw_proxy_list(const claw_proxy *p);
int claw_proxy_connections(const claw_proxy *p);
/* The routes' listening sockets and their addresses: fills at most max, returns how
 * many there are. */
int claw_proxy_listeners(const claw_proxy *p, int *fds, const char **addrs, int max);

/* Runs the loop until *stop is set (checked after every wake-up). */
int claw_proxy_run(claw_proxy *p, volatile int *stop, claw_err *err);
/* One pass of the loop, waiting at most `wait` seconds. */
int claw_proxy_step(claw_proxy *p, double wait, claw_err *err);

/* "host:port" (IPv4, [IPv6], or a name resolved once) into a socket address. */
int claw_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, claw_err *err);
/* Do two listen addresses take the same port: the same, or one the wildcard of the
 * other's family? (Unparsable ones do not.) */
int claw_addr_overlaps(const char *a, const char *b);
void claw_format_addr(const struct sockaddr *sa, char *buf, size_t size);
/* A non-blocking listening TCP socket on "host:port" (IPv6 only for an IPv6 address;
 * SO_REUSEADDR, not SO_REUSEPORT). Returns the descriptor, or -1 with err "cannot
 * listen on ADDR: reason". */
int claw_listen_tcp(const char *addr, int backlog, claw_err *err);
/* A listening socket taken over from the daemon this one replaces (docs/proxy.md,
 * "Upgrading the daemon"), for claw_proxy_listen to return for exactly this address
 * instead of binding a new one. The proxy owns fd from now on. */
void claw_proxy_inherit(claw_proxy *p, const char *addr, int fd);
/* Closes the inherited sockets no address asked for; returns how many. */
int claw_proxy_inherited_close(claw_proxy *p);
/* A listening socket for addr: an inherited one, else a new one (claw_listen_tcp).
 * The routes' listeners and the HTTP API's come from here. */
int claw_proxy_listen(claw_proxy *p, const char *addr, int backlog, claw_err *err);

#endif
