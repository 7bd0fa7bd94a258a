/* require "claw.engine": what the engine was started with, for policies to honour
 * (--dry-run, --json) and to print (version); and report(), by which a policy run
 * by the daemon tells it outcomes for its metrics. */
#include "lclaw.h"
#include "metrics.h"
#include "paths.h"
#include "report.h"

/* engine.report{kind=, target=, outcome=, ...}: true when sent, false when there is
 * no daemon to send it to (or in dry-run), nil, err when the write failed. */
static int l_report(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *kind = claw_optstrfield(L, 1, "kind", NULL);
    const char *target = claw_optstrfield(L, 1, "target", NULL);
    const char *outcome = claw_optstrfield(L, 1, "outcome", NULL);
    if (!kind || !target || !outcome)
        return luaL_argerror(L, 1, "fields 'kind', 'target' and 'outcome' are required");
    if (claw_metrics_outcome(kind, outcome) < 0)
        return luaL_argerror(L, 1, lua_pushfstring(L, "unknown %s outcome '%s' (see docs/lua-api.md)",
                                                   kind, outcome));
    if (claw_rt_get(L)->dry_run) {
        lua_pushboolean(L, 0);
        return 1;
    }
    cJSON *rec = claw_checkjson(L, 1);
    claw_err e;
    int rc = claw_report_send(rec, &e);
    cJSON_Delete(rec);
    if (rc < 0)
        return claw_pusherror(L, &e);
    lua_pushboolean(L, rc);
    return 1;
}

int luaopen_claw_engine(lua_State *L)
{
    claw_rt *rt = claw_rt_get(L);
    lua_createtable(L, 0, 8);
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
    lua_pushcfunction(L, l_report);
    lua_setfield(L, -2, "report");
    return 1;
}
