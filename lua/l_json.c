/* require "claw.json": decode, encode, null, array. */
#include <stdlib.h>
#include <string.h>

#include "lclaw.h"

static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!v) {
        size_t at = end && end >= s ? (size_t)(end - s) : 0;
        claw_err e;
        if (len == 0 || at >= len)
            claw_fail(&e, CLAW_E_PARSE, 0, "invalid JSON: unexpected end at byte %zu", len);
        else
            claw_fail(&e, CLAW_E_PARSE, 0, "invalid JSON at byte %zu near '%.12s'", at, s + at);
        return claw_pusherror(L, &e);
    }
    /* cJSON stops after the first value: anything but white space after it is an error */
    size_t used = end ? (size_t)(end - s) : len;
    while (used < len && strchr(" \t\r\n", s[used]))
        used++;
    if (used < len) {
        cJSON_Delete(v);
        claw_err e;
        claw_fail(&e, CLAW_E_PARSE, 0, "invalid JSON at byte %zu near '%.12s'", used, s + used);
        return claw_pusherror(L, &e);
    }
    claw_pushjson(L, v);
    cJSON_Delete(v);
    return 1;
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    claw_checkopts(L, 2);
    int pretty = claw_optboolfield(L, 2, "pretty", 0);
    claw_err e;
    cJSON *v = claw_tojson(L, 1, &e);
    if (!v)
        return luaL_argerror(L, 1, e.message);
    char *text = pretty ? cJSON_Print(v) : cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    if (!text)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

/* array(t): marks t (a new table when nil) to encode as a JSON array, even empty. */
static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    else
        luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    claw_pusharraymt(L);
    lua_setmetatable(L, 1);
    return 1;
}

static const luaL_Reg funcs[] = {
    { "decode", l_decode }, { "encode", l_encode }, { "array", l_array }, { NULL, NULL },
};

int luaopen_claw_json(lua_State *L)
{
    luaL_newlib(L, funcs);
    claw_pushnull(L);
    lua_setfield(L, -2, "null");
    return 1;
}
