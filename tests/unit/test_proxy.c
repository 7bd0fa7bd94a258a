/* The traffic switch's route pauses (holders, deadlines, resume by holder or all) and
 * the ends of drains. The forwarding itself runs under load in
 * tests/integration/test_daemon.sh. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "check.h"
#include "proxy.h"

/* The route's "paused" and the number of its pauses, as claw_proxy_list says. */
static void listed(claw_proxy *p, int *paused, int *pauses)
{
    cJSON *routes = claw_proxy_list(p);
    cJSON *r = cJSON_GetArrayItem(routes, 0);
    *paused = cJSON_IsTrue(cJSON_GetObjectItem(r, "paused"));
    *pauses = cJSON_GetArraySize(cJSON_GetObjectItem(r, "pauses"));
    cJSON_Delete(routes);
}

static void nap(double seconds)
{
    struct timespec ts = { 0, (long)(seconds * 1e9) };
    nanosleep(&ts, NULL);
}

/* A drain's end as its callback hears it: the last `forced`, and how many calls. */
static int drain_forced = -2, drain_calls;

static void drained(void *ud, int forced)
{
    (void)ud;
    drain_forced = forced;
    drain_calls++;
}

int main(void)
{
    char logbuf[4096] = "";
    FILE *logf = fmemopen(logbuf, sizeof logbuf - 1, "w");
    claw_log log;
    claw_log_init(&log, logf, NULL);
    setvbuf(logf, NULL, _IONBF, 0);
    claw_proxy *p = claw_proxy_new(&log, 0);
    CHECK(p != NULL);
    claw_err e;
    const char *listen[] = { "127.0.0.1:29391" }; /* (no connection is made) */
    if (claw_proxy_route(p, "web", listen, 1, 0, &e) != 0) {
        fprintf(stderr, "cannot make the route: %s\n", e.message);
        return 1;
    }
    int paused, pauses;

    /* A pause made before the loop's first step counts from the proxy's making. */
    CHECK_INT(claw_proxy_pause(p, "web", "first", 10, &e), 1);
    CHECK_INT(claw_proxy_step(p, 0, &e), 0);
    CHECK_INT(claw_proxy_paused_by(p, "web", "first"), 1);
    CHECK_INT(claw_proxy_resume(p, "web", "first", &e), 0);
    CHECK_INT(claw_proxy_paused_by(p, "web", "first"), 0);

    /* Holders add up; the same holder again only sets its deadline again. */
    CHECK_INT(claw_proxy_pause(p, "web", "run-a", 10, &e), 1);
    CHECK_INT(claw_proxy_pause(p, "web", "run-b", 0.05, &e), 2);
    CHECK_INT(claw_proxy_pause(p, "web", "run-a", 10, &e), 2);
    listed(p, &paused, &pauses);
    CHECK_INT(paused, 1);
    CHECK_INT(pauses, 2);
    CHECK_INT(claw_proxy_paused_by(p, "web", "run-b"), 1);
    CHECK_INT(claw_proxy_paused_by(p, "web", "run-c"), 0);
    CHECK_INT(claw_proxy_paused_by(p, "nope", "run-a"), 0);

    /* run-a resumes: run-b's pause is left. A holder with no pause changes nothing. */
    CHECK_INT(claw_proxy_resume(p, "web", "run-a", &e), 1);
    CHECK_INT(claw_proxy_resume(p, "web", "run-a", &e), 1);
    CHECK_INT(claw_proxy_paused_by(p, "web", "run-a"), 0);
    listed(p, &paused, &pauses);
    CHECK_INT(paused, 1);

    /* run-b's deadline passes: the loop ends it, and with it the pause. */
    nap(0.08);
    CHECK_INT(claw_proxy_step(p, 0, &e), 0);
    listed(p, &paused, &pauses);
    CHECK_INT(paused, 0);
    CHECK_INT(pauses, 0);
    CHECK(strstr(logbuf, "route web: the pause of run-b reached its deadline") != NULL);
    CHECK(strstr(logbuf, "route web: no pause is left; 0 connection(s) it held go on") != NULL);

    /* A deadline ends its own pause only; the route waits for the others. */
    CHECK_INT(claw_proxy_pause(p, "web", "short", 0.05, &e), 1);
    CHECK_INT(claw_proxy_pause(p, "web", "long", 10, &e), 2);
    nap(0.08);
    CHECK_INT(claw_proxy_step(p, 0, &e), 0);
    listed(p, &paused, &pauses);
    CHECK_INT(paused, 1);
    CHECK_INT(pauses, 1);

    /* resume without a holder (all) ends every pause. */
    CHECK_INT(claw_proxy_pause(p, "web", "", 10, &e), 2);
    CHECK_INT(claw_proxy_resume(p, "web", NULL, &e), 0);
    listed(p, &paused, &pauses);
    CHECK_INT(paused, 0);
    CHECK_INT(pauses, 0);

    /* 16 holders at most; an unknown route is named. */
    char holder[16];
    for (int i = 0; i < 16; i++) {
        snprintf(holder, sizeof holder, "h%d", i);
        CHECK_INT(claw_proxy_pause(p, "web", holder, 10, &e), i + 1);
    }
    CHECK_INT(claw_proxy_pause(p, "web", "h16", 10, &e), -1);
    CHECK_STR(e.message, "route \"web\" has 16 pauses already");
    CHECK_INT(claw_proxy_resume(p, "web", NULL, &e), 0);
    CHECK_INT(claw_proxy_pause(p, "nope", "x", 10, &e), -1);
    CHECK_STR(e.code, CLAW_E_NOT_FOUND);
    CHECK_INT(claw_proxy_resume(p, "nope", NULL, &e), -1);

    /* A drain ends when its backend has no connection left (at the next step), is
     * put back in service (-1: added again, or switched to), or is removed. */
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(0x7f000001) };
    const struct sockaddr *sa = (const struct sockaddr *)&a;
    CHECK_INT(claw_proxy_backend(p, "web", "c1", sa, sizeof a, 100, &e), 0);
    CHECK_INT(claw_proxy_drain(p, "web", "c1", 30, drained, NULL, &e), 0);
    CHECK_INT(claw_proxy_drain(p, "web", "c1", 30, drained, NULL, &e), -1);
    CHECK_STR(e.message, "backend \"c1\" of route \"web\" is draining already");
    CHECK_INT(claw_proxy_backend(p, "web", "c1", sa, sizeof a, -1, &e), 0);
    CHECK_INT(drain_calls, 1);
    CHECK_INT(drain_forced, -1);
    CHECK_INT(claw_proxy_step(p, 0, &e), 0); /* (nothing is left to end) */
    CHECK_INT(drain_calls, 1);
    CHECK_INT(claw_proxy_drain(p, "web", "c1", 30, drained, NULL, &e), 0);
    CHECK_INT(claw_proxy_switch(p, "web", "c1", &e), 0);
    CHECK_INT(drain_calls, 2);
    CHECK_INT(drain_forced, -1);
    CHECK_INT(claw_proxy_drain(p, "web", "c1", 30, drained, NULL, &e), 0);
    CHECK_INT(claw_proxy_step(p, 0, &e), 0);
    CHECK_INT(drain_calls, 3);
    CHECK_INT(drain_forced, 0);
    CHECK_INT(claw_proxy_drain(p, "web", "c1", 30, drained, NULL, &e), 0);
    CHECK_INT(claw_proxy_backend_remove(p, "web", "c1", &e), 0);
    CHECK_INT(drain_calls, 4);
    CHECK_INT(drain_forced, 0);

    claw_proxy_free(p);
    fclose(logf);
    return check_done();
}
