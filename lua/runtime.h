/* The Lua runtime: one state per policy run, the claw.* modules preloaded, the
 * module path set, and one protected call path with a traceback. */
#ifndef CLAW_RUNTIME_H
#define CLAW_RUNTIME_H

#include <lua.h>

#include "exitcode.h"
#include "lclaw.h"

lua_State *claw_runtime_new(claw_rt *rt);
void claw_runtime_close(lua_State *L);
/* Runs the policy at path with argv as its arguments; returns the exit code. Messages
 * go to stderr. */
int claw_runtime_run(lua_State *L, const char *path, int argc, char **argv);
/* Async-signal-safe: makes the running Lua code stop at its next instruction. */
void claw_runtime_interrupt(lua_State *L);
const char *claw_runtime_lua_version(void);

#endif
