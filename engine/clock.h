/* The two clocks the engine reads, in seconds, and wall-clock time in a named zone. */
#ifndef CLAW_CLOCK_H
#define CLAW_CLOCK_H

double claw_clock_now(void);       /* since the epoch */
double claw_clock_monotonic(void); /* for durations and deadlines */

/* Time zones: an Area/City name of the system's zoneinfo (TZDIR, else
 * /usr/share/zoneinfo). The C library reads local time through TZ, so a zone is
 * entered by switching the process's TZ and left by putting it back: the one piece of
 * process-wide state the engine changes outside main.c, safe because the engine runs
 * one thread. Never call these while another thread may read the environment (a
 * libcurl transfer in progress: its resolver thread). */
typedef struct claw_zone_switch {
    int active, had;
    char saved[256];
} claw_zone_switch;

int claw_zone_known(const char *zone);
/* Does nothing for NULL or "" (the process's own zone). */
void claw_zone_enter(claw_zone_switch *z, const char *zone);
void claw_zone_leave(claw_zone_switch *z);

#endif
