/* require "claw.backup": save, restore and list copies of a file (engine/backup.c). */
#include <stdio.h>

#include "backup.h"
#include "lclaw.h"
#include "paths.h"

static void read_opts(lua_State *L, int arg, claw_backup_opts *o, char *store, size_t size)
{
    claw_checkopts(L, arg);
    o->keep = (int)claw_optnumfield(L, arg, "keep", 10);
    o->dry_run = claw_rt_get(L)->dry_run;
    const char *dir = claw_optstrfield(L, arg, "dir", NULL);
    char state[4000];
    if (dir)
        snprintf(store, size, "%s", dir);
    else
        snprintf(store, size, "%s/backups", claw_state_dir(state, sizeof state));
    o->store = store;
}

static void push_info(lua_State *L, const claw_backup_info *b)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, b->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, b->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, b->source);
    lua_setfield(L, -2, "source");
    lua_pushstring(L, b->sha256);
    lua_setfield(L, -2, "sha256");
    lua_pushinteger(L, b->size);
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, b->time);
    lua_setfield(L, -2, "time");
}

static int l_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char store[4096];
    claw_backup_opts o = { 0 };
    read_opts(L, 2, &o, store, sizeof store);
    claw_backup_info info;
    claw_err e;
    if (claw_backup_save(path, &o, &info, &e) != 0)
        return claw_pusherror(L, &e);
    claw_dry(L, "back up %s to %s and %s.pre-update", info.source, info.path, info.source);
    push_info(L, &info);
    return 1;
}

static int l_restore(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    claw_checkopts(L, 2);
    char store[4096];
    claw_backup_opts o = { 0 };
    read_opts(L, 2, &o, store, sizeof store);
    const char *which = NULL;
    char idx[32];
    if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "which") != LUA_TNIL) {
        if (lua_isinteger(L, -1))
            snprintf(idx, sizeof idx, "%lld", (long long)lua_tointeger(L, -1)), which = idx;
        else if (lua_type(L, -1) == LUA_TSTRING)
            which = lua_tostring(L, -1);
        else
            luaL_argerror(L, 2, "field 'which' must be a string or an integer");
    }
    claw_backup_info info;
    claw_err e;
    if (claw_backup_restore(path, which, &o, &info, &e) != 0)
        return claw_pusherror(L, &e);
    claw_dry(L, "restore %s from %s", info.source, info.path);
    push_info(L, &info);
    return 1;
}

static int l_list(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char store[4096];
    claw_backup_opts o = { 0 };
    read_opts(L, 2, &o, store, sizeof store);
    claw_err e;
    cJSON *list = claw_backup_list(path, &o, &e);
    if (!list)
        return claw_pusherror(L, &e);
    claw_pushjson(L, list);
    cJSON_Delete(list);
    return 1;
}

static int l_sha256(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char hex[65];
    claw_err e;
    if (claw_sha256_file(path, hex, &e) != 0)
        return claw_pusherror(L, &e);
    lua_pushstring(L, hex);
    return 1;
}

static const luaL_Reg funcs[] = {
    { "save", l_save }, { "restore", l_restore }, { "list", l_list },
    { "sha256", l_sha256 }, { NULL, NULL },
};

int luaopen_claw_backup(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
