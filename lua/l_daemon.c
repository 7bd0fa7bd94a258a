/* require "claw.daemon": what the clawengine daemon reports about itself, through its
 * admin socket (engine/admin.c). Options: { admin = "/path/admin.sock" }, else
 * $CLAWENGINE_ADMIN, else /run/clawengine/admin.sock. Routes are claw.route's. */
#include "lclaw.h"

/* daemon.schedules({admin=}): the daemon's schedules, their next times and last runs. */
static int l_schedules(lua_State *L)
{
    claw_checkopts(L, 1);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "schedules");
    return claw_admin_push(L, 1, req, "schedules", 30);
}

static const luaL_Reg funcs[] = {
    { "schedules", l_schedules },
    { NULL, NULL },
};

int luaopen_claw_daemon(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
