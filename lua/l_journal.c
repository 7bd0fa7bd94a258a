/* require "claw.journal": the update journal (engine/journal.c). Records are Lua
 * tables written as one JSON line each, fsynced before the step is carried out. */
#include <stdio.h>
#include <unistd.h>

#include "journal.h"
#include "lclaw.h"
#include "paths.h"

/* journal.append(path, record) */
static int l_append(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    cJSON *rec = claw_checkjson(L, 2);
    if (claw_rt_get(L)->dry_run) {
        cJSON_Delete(rec);
        lua_pushboolean(L, 1);
        return 1; /* a plan changes nothing, not even the journal */
    }
    claw_err e;
    int rc = claw_journal_append(path, rec, &e);
    cJSON_Delete(rec);
    if (rc != 0)
        return claw_pusherror(L, &e);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    claw_err e;
    cJSON *recs = claw_journal_read(path, &e);
    if (!recs)
        return claw_pusherror(L, &e);
    claw_pushjson(L, recs);
    cJSON_Delete(recs);
    return 1;
}

static int l_files(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    claw_err e;
    cJSON *files = claw_journal_files(dir, &e);
    if (!files)
        return claw_pusherror(L, &e);
    claw_pushjson(L, files);
    cJSON_Delete(files);
    return 1;
}

/* journal.dir(): where journals live, <state dir>/journal. */
static int l_dir(lua_State *L)
{
    char state[4000];
    lua_pushfstring(L, "%s/journal", claw_state_dir(state, sizeof state));
    return 1;
}

static const char LOCK_MT[] = "claw.JournalLock";

static int lock_close(lua_State *L)
{
    int *fd = luaL_checkudata(L, 1, LOCK_MT);
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return 0;
}

/* journal.lock(path): held until closed (or collected, or the process ends); under
 * --dry-run a lock that holds nothing. */
static int l_lock(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int *fd = lua_newuserdatauv(L, sizeof *fd, 0);
    *fd = -1;
    if (luaL_newmetatable(L, LOCK_MT)) {
        lua_pushcfunction(L, lock_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, lock_close);
        lua_setfield(L, -2, "__close");
        lua_newtable(L);
        lua_pushcfunction(L, lock_close);
        lua_setfield(L, -2, "close");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
    claw_err e;
    if (!claw_rt_get(L)->dry_run && (*fd = claw_journal_lock(path, &e)) < 0)
        return claw_pusherror(L, &e);
    return 1;
}

static int l_busy(lua_State *L)
{
    lua_pushboolean(L, claw_journal_busy(luaL_checkstring(L, 1)));
    return 1;
}

static const luaL_Reg funcs[] = {
    { "append", l_append }, { "read", l_read },   { "files", l_files },
    { "dir", l_dir },       { "lock", l_lock },   { "busy", l_busy },
    { NULL, NULL },
};

int luaopen_claw_journal(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
