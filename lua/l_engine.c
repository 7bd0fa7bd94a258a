/* require "claw.engine": what the engine was started with, for policies to honour
 * (--dry-run, --json) and to print (version). Read-only values. */
#include "lclaw.h"
#include "paths.h"

int luaopen_claw_engine(lua_State *L)
{
    claw_rt *rt = claw_rt_get(L);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, CLAW_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushboolean(L, rt->dry_run);
    lua_setfield(L, -2, "dry_run");
    lua_pushboolean(L, rt->log->json);
    lua_setfield(L, -2, "json");
    lua_pushstring(L, claw_log_level_name(rt->log->level));
    lua_setfield(L, -2, "log_level");
    lua_pushstring(L, rt->docker_host ? rt->docker_host : "");
    lua_setfield(L, -2, "docker_host");
    lua_pushstring(L, rt->policy_dir);
    lua_setfield(L, -2, "policy_dir");
    char state[4096];
    lua_pushstring(L, claw_state_dir(state, sizeof state));
    lua_setfield(L, -2, "state_dir");
    return 1;
}
