#include "runtime.h"

#include <errno.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const luaL_Reg modules[] = {
    { "claw.docker", luaopen_claw_docker }, { "claw.json", luaopen_claw_json },
    { "claw.yaml", luaopen_claw_yaml },     { "claw.backup", luaopen_claw_backup },
    { "claw.log", luaopen_claw_log },       { "claw.time", luaopen_claw_time },
    { "claw.engine", luaopen_claw_engine }, { "claw.route", luaopen_claw_route },
    { "claw.health", luaopen_claw_health }, { "claw.journal", luaopen_claw_journal },
    { "claw.registry", luaopen_claw_registry },
    { "claw.notify", luaopen_claw_notify }, { "claw.cron", luaopen_claw_cron },
    { "claw.process", luaopen_claw_process }, { "claw.daemon", luaopen_claw_daemon },
    { NULL, NULL },
};

/* Source only, never bytecode: load, loadfile and dofile are pinned to text mode,
 * and require uses a searcher that loads text only. */
static const char prelude[] =
    "local load_, loadfile_ = load, loadfile\n"
    "function load(chunk, name, mode, ...) return load_(chunk, name, 't', ...) end\n"
    "function loadfile(name, mode, ...) return loadfile_(name, 't', ...) end\n"
    "function dofile(name)\n"
    "  local f = assert(loadfile_(name, 't'))\n"
    "  return f()\n"
    "end\n";

static int text_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    const char *path = lua_tostring(L, -1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name);
    lua_pushstring(L, path ? path : "");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
        return 1; /* the "no file ..." message */
    const char *file = lua_tostring(L, -2);
    if (luaL_loadfilex(L, file, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                          lua_tostring(L, -1));
    lua_pushstring(L, file);
    return 2;
}

static void set_paths(lua_State *L, const claw_rt *rt)
{
    lua_getglobal(L, "package");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const luaL_Reg *m = modules; m->name; m++) {
        lua_pushcfunction(L, m->func);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "searchers");
    lua_pushcfunction(L, text_searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 1);
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", rt->lua_dir, rt->lua_dir);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

lua_State *claw_runtime_new(claw_rt *rt)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    luaL_openlibs(L);
    claw_rt_set(L, rt);
    set_paths(L, rt);
    if (luaL_loadstring(L, prelude) != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_close(L);
        return NULL;
    }
    return L;
}

void claw_runtime_close(lua_State *L)
{
    if (L)
        lua_close(L);
}

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    claw_rt *rt = claw_rt_get(L);
    if (claw_cancel_pending(rt->cancel)) { /* not already acted upon by a C call */
        claw_cancel_consume(rt->cancel);
        claw_raise(L, CLAW_E_INTERRUPTED, "interrupted");
    }
}

void claw_runtime_interrupt(lua_State *L)
{
    lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

const char *claw_runtime_lua_version(void)
{
    return LUA_RELEASE;
}

/* "source:line: " of the innermost Lua function on the stack, for errors raised
 * as tables (assert(docker.inspect(...))) that carry no position. */
static void push_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/* The message handler: turns any error into { text =, code = }. */
static int msghandler(lua_State *L)
{
    const char *code = NULL;
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_getfield(L, 1, "code");
        code = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    int plain = code && (strcmp(code, "usage") == 0 || strcmp(code, CLAW_E_INTERRUPTED) == 0);
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (plain)
            lua_pushliteral(L, "");
        else
            push_where(L);
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            ;
        else
            lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        lua_concat(L, 2);
        msg = lua_tostring(L, -1);
    }
    lua_createtable(L, 0, 2);
    if (plain || (code && strcmp(code, CLAW_E_UNREACHABLE) == 0))
        lua_pushstring(L, msg);
    else
        luaL_traceback(L, L, msg, 1);
    lua_setfield(L, -2, "text");
    lua_pushstring(L, code ? code : "");
    lua_setfield(L, -2, "code");
    return 1;
}

static int exit_for(const char *code)
{
    if (strcmp(code, "usage") == 0)
        return CLAW_EXIT_USAGE;
    if (strcmp(code, CLAW_E_UNREACHABLE) == 0)
        return CLAW_EXIT_UNREACHABLE;
    if (strcmp(code, CLAW_E_INTERRUPTED) == 0)
        return CLAW_EXIT_INTERRUPTED;
    return CLAW_EXIT_POLICY;
}

/* What the policy returned: nothing or true is success, false [, why] failure, an
 * integer an exit code of its own. */
static int exit_for_result(lua_State *L, int first)
{
    if (lua_isinteger(L, first)) {
        lua_Integer n = lua_tointeger(L, first);
        return n >= 0 && n <= 125 ? (int)n : CLAW_EXIT_FAILURE;
    }
    if (lua_isnil(L, first) || lua_toboolean(L, first))
        return CLAW_EXIT_OK;
    if (lua_isstring(L, first + 1))
        fprintf(stderr, "clawengine: %s\n", lua_tostring(L, first + 1));
    return CLAW_EXIT_FAILURE;
}

static int load_policy(lua_State *L, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISDIR(st.st_mode)) {
        fprintf(stderr, "clawengine: cannot open policy %s: %s\n", path,
                S_ISDIR(st.st_mode) ? "Is a directory" : strerror(errno));
        return CLAW_EXIT_USAGE;
    }
    int rc = luaL_loadfilex(L, path, "t");
    if (rc == LUA_ERRFILE) {
        fprintf(stderr, "clawengine: %s\n", lua_tostring(L, -1));
        return CLAW_EXIT_USAGE;
    }
    if (rc != LUA_OK) {
        fprintf(stderr, "clawengine: %s\n", lua_tostring(L, -1));
        return CLAW_EXIT_POLICY;
    }
    return CLAW_EXIT_OK;
}

/* The policy's folder goes first on the module path, for its own helpers. */
static void add_policy_dir(lua_State *L, const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s", strcmp(dir, "/") == 0 ? "" : dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_settop(L, 0);
}

int claw_runtime_run(lua_State *L, const char *path, int argc, char **argv)
{
    add_policy_dir(L, path);
    lua_createtable(L, argc, 2);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    lua_pushstring(L, n > 0 ? (exe[n] = 0, exe) : "clawengine"); /* as lua.c: the interpreter */
    lua_rawseti(L, -2, -1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, msghandler);
    int rc = load_policy(L, path);
    if (rc != CLAW_EXIT_OK)
        return rc;
    for (int i = 0; i < argc; i++)
        lua_pushstring(L, argv[i]);
    if (lua_pcall(L, argc, 2, 1) == LUA_OK)
        return exit_for_result(L, 2);
    lua_getfield(L, -1, "text");
    lua_getfield(L, -2, "code");
    const char *text = lua_tostring(L, -2);
    fprintf(stderr, "clawengine: %s\n", text ? text : "(no message)");
    return exit_for(lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
}
