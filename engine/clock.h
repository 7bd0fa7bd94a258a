/* The two clocks the engine reads, in seconds. */
#ifndef CLAW_CLOCK_H
#define CLAW_CLOCK_H

double claw_clock_now(void);       /* since the epoch */
double claw_clock_monotonic(void); /* for durations and deadlines */

#endif
