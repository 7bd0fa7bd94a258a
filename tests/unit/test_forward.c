/* The traffic switch's forwarding, driven step by step in one process: the test is
 * the client and the backends, on 127.0.0.1, and runs the proxy's loop between its
 * own reads and writes. It covers what an edge-triggered loop can get wrong: bytes
 * left unread when a socket reports nothing new (large answers, a client that reads
 * late, many small exchanges), EOFs passed on each way, resets before and after an
 * answer, and refused backends. The same paths run under load, against containers,
 * in tests/integration/test_daemon.sh. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "check.h"
#include "clock.h"
#include "proxy.h"

#define PORT_ROUTE 29401
#define PORT_B1 29411
#define PORT_B2 29412
#define PORT_NONE 29413 /* nothing listens there */

static claw_proxy *P;
static claw_err E;

static void step(void)
{
    if (claw_proxy_step(P, 0.002, &E) != 0)
        fprintf(stderr, "step: %s\n", E.message);
}

/* Runs the proxy's loop until `cond` holds, for 3 s at most. */
#define UNTIL(cond)                                                                  \
    do {                                                                             \
        double t0_ = claw_clock_monotonic();                                         \
        while (!(cond) && claw_clock_monotonic() - t0_ < 3)                          \
            step();                                                                  \
    } while (0)

static struct sockaddr_in loopback(int port)
{
    return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static int listen_on(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        perror("listen");
        exit(1);
    }
    return fd;
}

/* A client of the route: connected (the kernel answers for the listener), and
 * non-blocking from then on. */
static int client(void)
{
    struct sockaddr_in a = loopback(PORT_ROUTE);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static int accepted = -1;

static int take(int lfd)
{
    accepted = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return accepted >= 0;
}

/* What a socket has now, appended to buf (up to cap); 1 once it said EOF, -1 on
 * an error (a reset). */
static int got_eof;
static int drain_into(int fd, char *buf, size_t cap, size_t *len)
{
    for (;;) {
        char tmp[65536];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n > 0) {
            size_t keep = (size_t)n < cap - *len ? (size_t)n : cap - *len;
            memcpy(buf + *len, tmp, keep);
            *len += keep;
            continue;
        }
        if (n == 0)
            return got_eof = 1;
        return errno == EAGAIN ? 0 : (got_eof = -1);
    }
}

/* A counter of a backend of the route "web", as `route list` shows it. */
static long long counter(const char *backend, const char *name)
{
    cJSON *routes = claw_proxy_list(P);
    cJSON *bs = cJSON_GetObjectItem(cJSON_GetArrayItem(routes, 0), "backends"), *b;
    long long v = -1;
    cJSON_ArrayForEach(b, bs)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "container")), backend) == 0)
            v = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(b, name));
    }
    cJSON_Delete(routes);
    return v;
}

static void add_backend(const char *name, int port, int weight)
{
    struct sockaddr_in a = loopback(port);
    if (claw_proxy_backend(P, "web", name, (struct sockaddr *)&a, sizeof a, weight, &E) != 0) {
        fprintf(stderr, "backend %s: %s\n", name, E.message);
        exit(1);
    }
}

static void remove_backend(const char *name)
{
    if (claw_proxy_backend_remove(P, "web", name, &E) != 0)
        fprintf(stderr, "remove %s: %s\n", name, E.message);
}

static void reset_close(int fd)
{
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* The backend writes out[sent..len) as its socket takes it and then ends (a close,
 * or a shutdown of writing); the client reads into `in` until its EOF; the loop
 * steps in between, for 10 s at most. Returns what the client got. */
static size_t stream_to_client(int b, const char *out, size_t len, size_t sent, int close_after,
                               int c, char *in, size_t cap)
{
    size_t have = 0;
    got_eof = 0;
    double t0 = claw_clock_monotonic();
    while (got_eof == 0 && claw_clock_monotonic() - t0 < 10) {
        if (sent < len) {
            ssize_t w = write(b, out + sent, len - sent);
            if (w > 0 && (sent += (size_t)w) == len) {
                if (close_after)
                    close(b);
                else
                    shutdown(b, SHUT_WR);
            }
        }
        step();
        drain_into(c, in, cap, &have);
    }
    return have;
}

/* A request and its EOF at once; a 3 MB answer, then the backend's EOF: every byte
 * arrives, in order, both EOFs are passed on, and the connection ends. */
static void answer_and_half_close(int l1)
{
    enum { BIG = 3 << 20 };
    char *out = malloc(BIG), *in = malloc(BIG + 1), req[16];
    for (size_t i = 0; i < BIG; i++)
        out[i] = (char)('a' + i % 26);
    int c = client();
    CHECK_INT(write(c, "hello", 5), 5);
    shutdown(c, SHUT_WR);
    UNTIL(take(l1));
    int b = accepted;
    CHECK(b >= 0);
    size_t n = 0;
    got_eof = 0;
    UNTIL(drain_into(b, req, sizeof req, &n) != 0);
    CHECK_INT(got_eof, 1);
    CHECK_INT(n, 5);
    CHECK(memcmp(req, "hello", 5) == 0);

    size_t have = stream_to_client(b, out, BIG, 0, 1, c, in, BIG + 1);
    CHECK_INT(got_eof, 1);
    CHECK_INT(have, BIG);
    CHECK(memcmp(in, out, BIG) == 0);
    UNTIL(claw_proxy_connections(P) == 0);
    CHECK_INT(claw_proxy_connections(P), 0);
    CHECK_INT(counter("b1", "bytes_in"), 5);
    CHECK_INT(counter("b1", "bytes_out"), BIG);
    CHECK_INT(counter("b1", "active"), 0);
    close(c);
    free(out);
    free(in);
}

/* A client that does not read: the backend is held back (the proxy keeps at most a
 * read's worth), and everything comes through once the client reads. */
static void backpressure(int l1)
{
    enum { HUGE = 32 << 20 };
    char *out = calloc(1, HUGE), *in = malloc(HUGE);
    out[HUGE - 1] = 'z';
    int c = client();
    UNTIL(take(l1));
    int b = accepted;
    size_t sent = 0;
    for (int i = 0; i < 200; i++) { /* the client reads nothing meanwhile */
        ssize_t w = write(b, out + sent, HUGE - sent);
        if (w > 0)
            sent += (size_t)w;
        step();
    }
    CHECK(sent < HUGE); /* held back: the socket buffers are full, and so is the proxy */
    size_t have = stream_to_client(b, out, HUGE, sent, 0, c, in, HUGE);
    CHECK_INT(have, HUGE);
    CHECK_INT(in[HUGE - 1], 'z');
    close(c); /* the client's EOF ends it */
    UNTIL(claw_proxy_connections(P) == 0);
    CHECK_INT(claw_proxy_connections(P), 0);
    close(b);
    free(out);
    free(in);
}

/* Many small exchanges on one connection, each waiting for the one before. */
static void ping_pong(int l1)
{
    int c = client();
    UNTIL(take(l1));
    int b = accepted, ok = 0;
    for (int i = 0; i < 200; i++) {
        char msg[32], buf[64];
        int len = snprintf(msg, sizeof msg, "ping %d", i);
        size_t n = 0;
        if (write(c, msg, (size_t)len) != len)
            break;
        UNTIL(drain_into(b, buf, sizeof buf, &n) != 0 || n == (size_t)len);
        if (n != (size_t)len || memcmp(buf, msg, n) != 0)
            break;
        msg[1] = 'o';
        if (write(b, msg, (size_t)len) != len)
            break;
        n = 0;
        UNTIL(drain_into(c, buf, sizeof buf, &n) != 0 || n == (size_t)len);
        if (n != (size_t)len || memcmp(buf, msg, n) != 0)
            break;
        ok++;
    }
    CHECK_INT(ok, 200);
    close(c);
    close(b);
    UNTIL(claw_proxy_connections(P) == 0);
    CHECK_INT(claw_proxy_connections(P), 0);
}

/* A backend that resets a connection before answering: a client that sent nothing
 * yet goes on to the other backend. One that resets after answering ends only its
 * own connection. A refused backend is passed over. */
static void resets_and_refusals(int l1, int l2)
{
    add_backend("b2", PORT_B2, 0); /* taken only when b1 cannot */
    int c = client();
    UNTIL(take(l1));
    reset_close(accepted);
    UNTIL(take(l2));
    int b = accepted;
    CHECK(b >= 0);
    /* (a connect failure when the reset came before the proxy saw it connected) */
    CHECK_INT(counter("b1", "resets") + counter("b1", "connect_failures"), 1);
    CHECK_INT(write(c, "again", 5), 5);
    char buf[64];
    size_t n = 0;
    UNTIL(drain_into(b, buf, sizeof buf, &n) != 0 || n == 5);
    CHECK_INT(n, 5);
    CHECK_INT(write(b, "ok", 2), 2);
    close(b);
    n = 0;
    got_eof = 0;
    UNTIL(drain_into(c, buf, sizeof buf, &n) != 0);
    CHECK_INT(got_eof, 1);
    CHECK_INT(n, 2);
    close(c);
    UNTIL(claw_proxy_connections(P) == 0);

    /* b1 answered, then reset: the client's connection ends; b1 counts it. b1 was
     * avoided for a while after the first reset, so it is the only one here. */
    remove_backend("b2");
    remove_backend("b1");
    add_backend("b1", PORT_B1, 100);
    c = client();
    CHECK_INT(write(c, "q", 1), 1);
    UNTIL(take(l1));
    b = accepted;
    n = 0;
    UNTIL(drain_into(b, buf, sizeof buf, &n) != 0 || n == 1);
    CHECK_INT(write(b, "partial", 7), 7);
    n = 0;
    UNTIL(drain_into(c, buf, sizeof buf, &n) != 0 || n == 7);
    CHECK_INT(n, 7);
    reset_close(b);
    got_eof = 0;
    UNTIL(drain_into(c, buf, sizeof buf, &n) != 0);
    CHECK(got_eof != 0);
    CHECK_INT(counter("b1", "resets"), 1);
    UNTIL(claw_proxy_connections(P) == 0);
    CHECK_INT(claw_proxy_connections(P), 0);
    close(c);

    /* Nothing listens where b0 is: refused at once, the client goes to b1. */
    add_backend("b0", PORT_NONE, 100);
    remove_backend("b1");
    add_backend("b1", PORT_B1, 0);
    c = client();
    UNTIL(take(l1));
    CHECK(accepted >= 0);
    CHECK_INT(counter("b0", "connect_failures"), 1);
    close(accepted);
    close(c);
    UNTIL(claw_proxy_connections(P) == 0);
}

/* Urgent data: a read stops at the urgent mark, short, with bytes still queued
 * behind it. They are forwarded all the same (the urgent byte itself is not: it is
 * not in the stream), with the client's EOF after them or without one. */
static void urgent_data(int l1)
{
    for (int with_eof = 0; with_eof < 2; with_eof++) {
        int c = client(); /* everything is queued before the proxy reads anything */
        CHECK_INT(write(c, "abc", 3), 3);
        CHECK_INT(send(c, "X", 1, MSG_OOB), 1);
        CHECK_INT(write(c, "def", 3), 3);
        if (with_eof)
            shutdown(c, SHUT_WR);
        UNTIL(take(l1));
        int b = accepted;
        char buf[64];
        size_t n = 0;
        got_eof = 0;
        UNTIL(drain_into(b, buf, sizeof buf, &n) != 0 || (!with_eof && n == 6));
        CHECK_INT(n, 6);
        CHECK(n == 6 && memcmp(buf, "abcdef", 6) == 0);
        CHECK_INT(got_eof, with_eof);
        close(b);
        close(c);
        UNTIL(claw_proxy_connections(P) == 0);
        CHECK_INT(claw_proxy_connections(P), 0);
    }
}

/* Writes to `fd` as much as it takes, stepping the loop, `rounds` times. */
static void fill(int fd, int rounds)
{
    static char big[1 << 20];
    for (int i = 0; i < rounds; i++) {
        if (write(fd, big, sizeof big) < 0 && errno != EAGAIN)
            break;
        step();
    }
}

/* One side resets while the proxy holds bytes for the other, which reads nothing:
 * the connection ends at once, and a backend's reset is counted. */
static void resets_while_backed_up(int l1)
{
    int c = client();
    UNTIL(take(l1));
    int b = accepted;
    fill(c, 64); /* the backend reads nothing */
    reset_close(c);
    UNTIL(claw_proxy_connections(P) == 0);
    CHECK_INT(claw_proxy_connections(P), 0);
    close(b);

    long long resets = counter("b1", "resets");
    c = client();
    UNTIL(take(l1));
    b = accepted;
    fill(b, 64); /* the client reads nothing */
    reset_close(b);
    UNTIL(claw_proxy_connections(P) == 0);
    CHECK_INT(claw_proxy_connections(P), 0);
    CHECK_INT(counter("b1", "resets"), resets + 1);
    close(c);
}

/* Both ways at full speed, so that connections give up their turn with bytes left
 * (and wait on the loop's list for the rest of the pass), then closed by a drain's
 * deadline in the same pass. (Under AddressSanitizer, a connection freed while still
 * on that list is caught at the next step.) */
static int drains_ended;
static void drain_ended(void *ud, int forced)
{
    (void)ud;
    (void)forced;
    drains_ended++;
}

static void closed_while_queued(int l1)
{
    static char big[1 << 20];
    for (int round = 0; round < 20; round++) {
        int c = client();
        UNTIL(take(l1));
        int b = accepted;
        for (int i = 0; i < 30; i++) {
            (void)!write(c, big, sizeof big);
            (void)!write(b, big, sizeof big);
            step();
            while (read(c, big, sizeof big) > 0 || read(b, big, sizeof big) > 0)
                ;
        }
        CHECK_INT(claw_proxy_drain(P, "web", "b1", 0, drain_ended, NULL, &E), 0);
        for (int i = 0; i < 3; i++) {
            (void)!write(c, big, sizeof big);
            (void)!write(b, big, sizeof big);
            step();
        }
        UNTIL(claw_proxy_connections(P) == 0);
        close(c);
        close(b);
        remove_backend("b1");
        add_backend("b1", PORT_B1, 100);
    }
    CHECK_INT(drains_ended, 20);
    CHECK_INT(claw_proxy_connections(P), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the daemon: writes to a reset socket fail with EPIPE */
    claw_log log;
    claw_log_init(&log, stderr, NULL);
    P = claw_proxy_new(&log, 0);
    CHECK(P != NULL);
    const char *listen[] = { "127.0.0.1:29401" };
    if (claw_proxy_route(P, "web", listen, 1, 0, &E) != 0) {
        fprintf(stderr, "cannot make the route: %s\n", E.message);
        return 1;
    }
    int l1 = listen_on(PORT_B1), l2 = listen_on(PORT_B2);
    add_backend("b1", PORT_B1, 100);

    answer_and_half_close(l1);
    backpressure(l1);
    ping_pong(l1);
    urgent_data(l1);
    resets_while_backed_up(l1);
    closed_while_queued(l1);
    resets_and_refusals(l1, l2);

    claw_proxy_free(P);
    close(l1);
    close(l2);
    return check_done();
}
