/* The one converter between cJSON trees (what the engine speaks) and Lua values,
 * used by claw.json, claw.yaml and every binding that returns Docker's answers.
 * JSON null is json.null (a light userdata); arrays carry a metatable so that an
 * empty array stays an array on the way back. */
#include <math.h>
#include <string.h>

#include "lclaw.h"

static const char ARRAY_MT[] = "claw.json.array";

void claw_pushnull(lua_State *L)
{
    lua_pushlightuserdata(L, NULL);
}

void claw_pusharraymt(lua_State *L)
{
    if (luaL_newmetatable(L, ARRAY_MT)) {
        lua_pushliteral(L, "array");
        lua_setfield(L, -2, "__jsontype");
    }
}

static void push_number(lua_State *L, double d)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0) /* exact in a double */
        lua_pushinteger(L, (lua_Integer)d);
    else
        lua_pushnumber(L, d);
}

void claw_pushjson(lua_State *L, const cJSON *v)
{
    luaL_checkstack(L, 4, "JSON value nested too deeply");
    if (!v || cJSON_IsNull(v)) {
        claw_pushnull(L);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else if (cJSON_IsNumber(v)) {
        push_number(L, v->valuedouble);
    } else if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsArray(v)) {
        lua_createtable(L, cJSON_GetArraySize(v), 0);
        lua_Integer i = 1;
        for (const cJSON *e = v->child; e; e = e->next) {
            claw_pushjson(L, e);
            lua_rawseti(L, -2, i++);
        }
        claw_pusharraymt(L);
        lua_setmetatable(L, -2);
    } else {
        lua_newtable(L);
        for (const cJSON *e = v->child; e; e = e->next) {
            claw_pushjson(L, e);
            lua_setfield(L, -2, e->string);
        }
    }
}

/* Is the table at idx an array: marked so, or keys exactly 1..n with n > 0? */
static int is_array(lua_State *L, int idx, size_t *len)
{
    *len = lua_rawlen(L, idx);
    if (luaL_getmetafield(L, idx, "__jsontype") != LUA_TNIL) {
        int arr = strcmp(lua_tostring(L, -1) ? lua_tostring(L, -1) : "", "array") == 0;
        lua_pop(L, 1);
        if (arr)
            return 1;
    }
    if (*len == 0)
        return 0;
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    return count == *len;
}

static cJSON *to_json(lua_State *L, int idx, int depth, claw_err *err);

static cJSON *table_to_json(lua_State *L, int idx, int depth, claw_err *err)
{
    size_t len;
    if (is_array(L, idx, &len)) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 1; i <= len; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            cJSON *e = to_json(L, lua_gettop(L), depth + 1, err);
            lua_pop(L, 1);
            if (!e) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, e);
        }
        return a;
    }
    cJSON *o = cJSON_CreateObject();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            claw_fail(err, CLAW_E_INVALID, 0, "cannot encode a table with %s keys as JSON",
                      luaL_typename(L, -2));
            lua_pop(L, 2);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON *e = to_json(L, lua_gettop(L), depth + 1, err);
        if (!e) {
            lua_pop(L, 2);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, lua_tostring(L, -2), e);
        lua_pop(L, 1);
    }
    return o;
}

static cJSON *to_json(lua_State *L, int idx, int depth, claw_err *err)
{
    if (depth > CLAW_JSON_MAX_DEPTH) {
        claw_fail(err, CLAW_E_INVALID, 0,
                  "cannot encode as JSON: nested deeper than %d levels (a cycle?)",
                  CLAW_JSON_MAX_DEPTH);
        return NULL;
    }
    luaL_checkstack(L, 6, "JSON value nested too deeply");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (isnan(d) || isinf(d)) {
            claw_fail(err, CLAW_E_INVALID, 0, "cannot encode %s as JSON", lua_tostring(L, idx));
            return NULL;
        }
        return cJSON_CreateNumber(d);
    }
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)
            return cJSON_CreateNull();
        break;
    case LUA_TTABLE:
        return table_to_json(L, idx, depth, err);
    }
    claw_fail(err, CLAW_E_INVALID, 0, "cannot encode a %s as JSON", luaL_typename(L, idx));
    return NULL;
}

cJSON *claw_tojson(lua_State *L, int idx, claw_err *err)
{
    return to_json(L, lua_absindex(L, idx), 0, err);
}

cJSON *claw_checkjson(lua_State *L, int arg)
{
    claw_err e;
    cJSON *v = claw_tojson(L, arg, &e);
    if (!v)
        luaL_argerror(L, arg, e.message);
    return v;
}
