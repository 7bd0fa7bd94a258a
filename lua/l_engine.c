/* require "claw.engine": what the engine was started with, for policies to honour
 * (--dry-run, --json) and to print (version); and report(), by which a policy run
 * by the daemon tells it outcomes for its metrics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lclaw.h"
#include "paths.h"

/* The outcomes the daemon counts (engine/metrics.c), by kind. */
static int known_outcome(const char *kind, const char *outcome)
{
    static const char *const update[] = { "succeeded", "failed", "rolled_back", NULL };
    static const char *const check[] = { "up_to_date", "update_available", "failed", NULL };
    const char *const *list = strcmp(kind, "update") == 0 ? update
                              : strcmp(kind, "check") == 0 ? check : NULL;
    for (; list && *list; list++)
        if (strcmp(*list, outcome) == 0)
            return 1;
    return 0;
}

/* The pipe the daemon gave a run it started ($CLAWENGINE_REPORT_FD), else -1: a
 * policy run by hand reports to nobody. */
static int report_fd(void)
{
    const char *v = getenv("CLAWENGINE_REPORT_FD");
    char *end;
    long fd = v && *v ? strtol(v, &end, 10) : -1;
    struct stat st;
    if (fd < 3 || fd > 1000 || *end || fstat((int)fd, &st) != 0 || !S_ISFIFO(st.st_mode))
        return -1;
    return (int)fd;
}

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
    if (!known_outcome(kind, outcome))
        return luaL_argerror(L, 1, lua_pushfstring(L, "unknown %s outcome '%s' (see docs/lua-api.md)",
                                                   kind, outcome));
    int fd = report_fd();
    if (fd < 0 || claw_rt_get(L)->dry_run) {
        lua_pushboolean(L, 0);
        return 1;
    }
    cJSON *rec = claw_checkjson(L, 1);
    char *text = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    size_t n = text ? strlen(text) : 0;
    claw_err e;
    int rc = 0;
    if (!text || n >= 4000) /* one write of less than PIPE_BUF is never interleaved */
        rc = claw_fail(&e, CLAW_E_INVALID, 0, "report: the record is longer than 4000 bytes");
    else {
        text[n] = '\n';
        if (write(fd, text, n + 1) != (ssize_t)(n + 1))
            rc = claw_fail_errno(&e, errno, "report: cannot write to the daemon");
    }
    free(text);
    if (rc != 0)
        return claw_pusherror(L, &e);
    lua_pushboolean(L, 1);
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
