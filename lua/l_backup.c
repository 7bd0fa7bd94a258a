/* require "claw.backup": save, restore and list copies of a file, snapshots of a
 * directory or of a Docker volume (engine/backup.c). */
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "lclaw.h"
#include "paths.h"

#define VOLUME "volume:"

/* Reads {dir=, keep=}; a "volume:NAME" path also needs the Docker client (made on
 * first use), which nothing else here does. */
static void read_opts(lua_State *L, const char *path, int arg, claw_backup_opts *o, char *store,
                      size_t size)
{
    claw_checkopts(L, arg);
    o->keep = (int)claw_optnumfield(L, arg, "keep", 10);
    o->keep_pre_update = !claw_optboolfield(L, arg, "pre_update", 1);
    o->dry_run = claw_rt_get(L)->dry_run;
    const char *dir = claw_optstrfield(L, arg, "dir", NULL);
    char state[4000];
    if (dir)
        snprintf(store, size, "%s", dir);
    else
        snprintf(store, size, "%s/backups", claw_state_dir(state, sizeof state));
    o->store = store;
    if (strncmp(path, VOLUME, strlen(VOLUME)) == 0)
        o->docker = claw_rt_docker(L);
}

/* The `which` option: a string, or an integer index (1 = newest). */
static const char *read_which(lua_State *L, int arg, char *idx, size_t size)
{
    const char *which = NULL;
    if (lua_type(L, arg) == LUA_TTABLE && lua_getfield(L, arg, "which") != LUA_TNIL) {
        if (lua_isinteger(L, -1))
            snprintf(idx, size, "%lld", (long long)lua_tointeger(L, -1)), which = idx;
        else if (lua_type(L, -1) == LUA_TSTRING)
            which = lua_tostring(L, -1);
        else
            luaL_argerror(L, arg, "field 'which' must be a string or an integer");
    }
    return which; /* a string stays on the stack, so it lives until we return */
}

static void push_info(lua_State *L, const claw_backup_info *b)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, b->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, b->kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, b->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, b->source);
    lua_setfield(L, -2, "source");
    lua_pushstring(L, b->sha256);
    lua_setfield(L, -2, "sha256");
    lua_pushinteger(L, b->size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, b->files);
    lua_setfield(L, -2, "files");
    lua_pushnumber(L, b->time);
    lua_setfield(L, -2, "time");
}

static int save(lua_State *L, const char *path)
{
    char store[4096];
    claw_backup_opts o = { 0 };
    read_opts(L, path, 2, &o, store, sizeof store);
    claw_backup_info info;
    claw_err e;
    if (claw_backup_save(path, &o, &info, &e) != 0)
        return claw_pusherror(L, &e);
    if (strcmp(info.kind, "dir") == 0)
        claw_dry(L, "snapshot %s to %s", info.source, info.path);
    else if (o.keep_pre_update)
        claw_dry(L, "back up %s to %s", info.source, info.path);
    else
        claw_dry(L, "back up %s to %s and %s.pre-update", info.source, info.path, info.source);
    push_info(L, &info);
    return 1;
}

static int restore(lua_State *L, const char *path)
{
    char store[4096], idx[32];
    claw_backup_opts o = { 0 };
    read_opts(L, path, 2, &o, store, sizeof store);
    const char *which = read_which(L, 2, idx, sizeof idx);
    claw_backup_info info;
    claw_err e;
    if (claw_backup_restore(path, which, &o, &info, &e) != 0)
        return claw_pusherror(L, &e);
    claw_dry(L, "restore %s from %s", info.source, info.path);
    push_info(L, &info);
    return 1;
}

/* "volume:" .. name, on the stack above the options (which may be absent) */
static const char *volume_path(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 2);
    return lua_pushfstring(L, VOLUME "%s", name);
}

static int l_save(lua_State *L)
{
    return save(L, luaL_checkstring(L, 1));
}

static int l_restore(lua_State *L)
{
    return restore(L, luaL_checkstring(L, 1));
}

static int l_save_volume(lua_State *L)
{
    return save(L, volume_path(L));
}

/* volume_dir(name, {dir=}): where a volume's files are, checked as a backup would */
static int l_volume_dir(lua_State *L)
{
    char store[4096], dir[4096];
    claw_backup_opts o = { 0 };
    const char *path = volume_path(L);
    read_opts(L, path, 2, &o, store, sizeof store);
    claw_err e;
    if (claw_backup_volume_where(path + strlen(VOLUME), &o, dir, &e) != 0)
        return claw_pusherror(L, &e);
    lua_pushstring(L, dir);
    return 1;
}

static int l_restore_volume(lua_State *L)
{
    return restore(L, volume_path(L));
}

static int l_list(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char store[4096];
    claw_backup_opts o = { 0 };
    /* a list reads the store only: no Docker client even for a volume */
    read_opts(L, "", 2, &o, store, sizeof store);
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
    { "save", l_save },     { "restore", l_restore },         { "save_volume", l_save_volume },
    { "restore_volume", l_restore_volume },                   { "volume_dir", l_volume_dir },
    { "list", l_list },     { "sha256", l_sha256 },           { NULL, NULL },
};

int luaopen_claw_backup(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
