/* require "claw.log": log.info("message", { field = value, ... }) */
#include <cjson/cJSON.h>

#include "lclaw.h"

static int emit(lua_State *L, claw_level lv)
{
    const char *msg = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    cJSON *fields = lua_isnoneornil(L, 2) ? NULL : claw_checkjson(L, 2);
    claw_log_emit(claw_rt_get(L)->log, lv, msg, fields);
    cJSON_Delete(fields);
    return 0;
}

static int l_debug(lua_State *L) { return emit(L, CLAW_LOG_DEBUG); }
static int l_info(lua_State *L) { return emit(L, CLAW_LOG_INFO); }
static int l_warn(lua_State *L) { return emit(L, CLAW_LOG_WARN); }
static int l_error(lua_State *L) { return emit(L, CLAW_LOG_ERROR); }

static const luaL_Reg funcs[] = {
    { "debug", l_debug }, { "info", l_info }, { "warn", l_warn }, { "error", l_error },
    { NULL, NULL },
};

int luaopen_claw_log(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
