/* require "claw.process": child processes (engine/proc.c), for policies that run
 * other policies, such as policies/scheduled.lua.
 *
 *   local p = assert(process.spawn({ arg[-1], "run", "policies/rolling.lua", "gw" }))
 *   local code, err = p:wait(60)   -- nil, {code="timeout"} while it still runs
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lclaw.h"
#include "proc.h"

static const char PROC_MT[] = "claw.Process";

static claw_child *checkproc(lua_State *L)
{
    return luaL_checkudata(L, 1, PROC_MT);
}

static int proc_close(lua_State *L)
{
    claw_child_close(checkproc(L));
    return 0;
}

/* p:wait([timeout]) -> exit code (128 + signal when a signal ended it); nil, err with
 * code "timeout" when it still runs after `timeout` seconds. */
static int proc_wait(lua_State *L)
{
    claw_child *c = checkproc(L);
    double timeout = luaL_optnumber(L, 2, -1);
    int status;
    claw_err e;
    int rc = claw_child_wait(c, timeout, claw_rt_get(L)->cancel, &status, &e);
    if (rc < 0)
        return claw_pusherror(L, &e);
    if (rc == 0) {
        claw_fail(&e, CLAW_E_TIMEOUT, 0, "process %d still runs after %g s", (int)c->pid, timeout);
        return claw_pusherror(L, &e);
    }
    lua_pushinteger(L, status);
    return 1;
}

static int proc_running(lua_State *L)
{
    int status;
    lua_pushboolean(L, !claw_child_poll(checkproc(L), &status));
    return 1;
}

static int proc_pid(lua_State *L)
{
    claw_child *c = checkproc(L);
    if (c->pid > 0)
        lua_pushinteger(L, c->pid);
    else
        lua_pushnil(L);
    return 1;
}

/* p:kill([signal]): "TERM" (default), "INT", "HUP", "KILL", or a number. */
static int proc_kill(lua_State *L)
{
    claw_child *c = checkproc(L);
    static const char *const names[] = { "TERM", "INT", "HUP", "KILL", "QUIT", "USR1", "USR2", NULL };
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGKILL, SIGQUIT, SIGUSR1, SIGUSR2 };
    int sig = lua_isinteger(L, 2) ? (int)lua_tointeger(L, 2) : sigs[luaL_checkoption(L, 2, "TERM", names)];
    if (claw_child_kill(c, sig) != 0) {
        claw_err e;
        claw_fail_errno(&e, errno, "cannot signal process %d", (int)c->pid);
        return claw_pusherror(L, &e);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* The "NAME=VALUE" strings of opts.env in out[0..max), NULL-terminated; a table
 * left on the stack keeps them alive. */
static void env_list(lua_State *L, int opts, const char **out, int max)
{
    out[0] = NULL;
    if (!lua_istable(L, opts))
        return;
    int n = 0, t = lua_getfield(L, opts, "env"), env = lua_gettop(L);
    if (t != LUA_TNIL && t != LUA_TTABLE)
        luaL_argerror(L, opts, "field 'env' must be a table");
    lua_newtable(L);
    for (lua_pushnil(L); t == LUA_TTABLE && lua_next(L, env); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
            luaL_argerror(L, opts, "field 'env' must map names to strings");
        if (n == max - 1)
            luaL_argerror(L, opts, lua_pushfstring(L, "more than %d env entries", max - 1));
        out[n] = lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
        lua_rawseti(L, env + 1, ++n);
    }
    out[n] = NULL;
}

/* process.spawn(argv [, {env = {NAME = value}, group = bool}]) -> process, or nil, err.
 * stdin is /dev/null; stdout and stderr are the engine's own. Under --dry-run nothing
 * is started: the returned process has ended with 0. */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    claw_checkopts(L, 2);
    int argc = (int)luaL_len(L, 1);
    luaL_argcheck(L, argc >= 1, 1, "empty argument list");
    const char **argv = lua_newuserdatauv(L, sizeof *argv * ((size_t)argc + 1), 0);
    for (int i = 1; i <= argc; i++) {
        if (lua_geti(L, 1, i) != LUA_TSTRING && !lua_isnumber(L, -1))
            return luaL_argerror(L, 1, lua_pushfstring(L, "item %d is not a string", i));
        argv[i - 1] = lua_tostring(L, -1);
        lua_rawseti(L, 1, i); /* numbers become strings that stay alive in the table */
    }
    argv[argc] = NULL;
    luaL_Buffer what; /* the command line, for the dry-run message */
    luaL_buffinit(L, &what);
    for (int i = 0; i < argc; i++) {
        if (i > 0)
            luaL_addchar(&what, ' ');
        luaL_addstring(&what, argv[i]);
    }
    luaL_pushresult(&what);
    const char *env[65];
    int top = lua_gettop(L);
    env_list(L, 2, env, 65);
    claw_spawn_opts o = { .env = env, .group = claw_optboolfield(L, 2, "group", 0) };
    claw_child *c = lua_newuserdatauv(L, sizeof *c, 0);
    *c = (claw_child){ .pid = 0, .pidfd = -1, .out_fd = -1, .status = 0 };
    luaL_setmetatable(L, PROC_MT);
    if (claw_dry(L, "run %s", lua_tostring(L, top)))
        return 1;
    claw_err e;
    if (claw_spawn(argv, &o, c, &e) != 0)
        return claw_pusherror(L, &e);
    return 1;
}

static const luaL_Reg methods[] = {
    { "wait", proc_wait }, { "running", proc_running }, { "pid", proc_pid },
    { "kill", proc_kill }, { "close", proc_close },     { NULL, NULL },
};

static const luaL_Reg funcs[] = {
    { "spawn", l_spawn },
    { NULL, NULL },
};

int luaopen_claw_process(lua_State *L)
{
    if (luaL_newmetatable(L, PROC_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, proc_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, proc_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    luaL_newlib(L, funcs);
    return 1;
}
