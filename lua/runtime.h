/* The Lua runtime: one state per policy run, the claw.* modules preloaded, the
 * module path set, and one protected call path with a traceback. */
#ifndef CLAW_RUNTIME_H
#define CLAW_RUNTIME_H

#include <lua.h>

#include "lclaw.h"

/* Exit codes (docs/cli.md). */
enum {
    CLAW_EXIT_OK = 0,
    CLAW_EXIT_FAILURE = 1,     /* the policy reported failure */
    CLAW_EXIT_USAGE = 2,
    CLAW_EXIT_POLICY = 3,      /* syntax or runtime error in the policy */
    CLAW_EXIT_UNREACHABLE = 4, /* Docker unreachable */
    CLAW_EXIT_INTERRUPTED = 130,
};

lua_State *claw_runtime_new(claw_rt *rt);
void claw_runtime_close(lua_State *L);
/* Runs the policy at path with argv as its arguments; returns the exit code. Messages
 * go to stderr. */
int claw_runtime_run(lua_State *L, const char *path, int argc, char **argv);
/* Async-signal-safe: makes the running Lua code stop at its next instruction. */
void claw_runtime_interrupt(lua_State *L);
const char *claw_runtime_lua_version(void);

#endif
