/* require "claw.yaml": load(path), decode(text), compose(path). */
#include "compose.h"
#include "lclaw.h"
#include "yamltree.h"

static int push_tree(lua_State *L, cJSON *v, const claw_err *e)
{
    if (!v)
        return claw_pusherror(L, e);
    claw_pushjson(L, v);
    cJSON_Delete(v);
    return 1;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    claw_err e;
    return push_tree(L, claw_yaml_load(path, &e), &e);
}

static int l_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "<string>");
    claw_err e;
    return push_tree(L, claw_yaml_parse(text, len, name, &e), &e);
}

static int l_compose(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    claw_err e;
    return push_tree(L, claw_compose_load(path, NULL, &e), &e);
}

static const luaL_Reg funcs[] = {
    { "load", l_load }, { "decode", l_decode }, { "compose", l_compose }, { NULL, NULL },
};

int luaopen_claw_yaml(lua_State *L)
{
    luaL_newlib(L, funcs);
    claw_pushnull(L);
    lua_setfield(L, -2, "null");
    return 1;
}
