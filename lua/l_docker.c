/* require "claw.docker": the Docker Engine API. Each function converts its
 * arguments, calls engine/docker*.c and converts the answer. Containers are named
 * by name or ID; options come in a trailing table. Mutating calls honour --dry-run. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "clone.h"
#include "dockercfg.h"
#include "lclaw.h"

/* Pushes a cJSON answer and frees it, or the error. */
static int result(lua_State *L, cJSON *v, const claw_err *e)
{
    if (!v)
        return claw_pusherror(L, e);
    claw_pushjson(L, v);
    cJSON_Delete(v);
    return 1;
}

static int ok(lua_State *L, int rc, const claw_err *e)
{
    if (rc != 0)
        return claw_pusherror(L, e);
    lua_pushboolean(L, 1);
    return 1;
}

static const char *checkname(lua_State *L, int arg)
{
    size_t n;
    const char *s = luaL_checklstring(L, arg, &n);
    if (n == 0)
        luaL_argerror(L, arg, "empty container or image name");
    return s;
}

static int l_ping(lua_State *L)
{
    claw_err e;
    return ok(L, claw_docker_ping(claw_rt_docker(L), &e), &e);
}

static int l_version(lua_State *L)
{
    claw_docker *d = claw_rt_docker(L);
    claw_err e;
    cJSON *v = NULL;
    int minor = claw_docker_api_minor(d, &e);
    if (minor < 0 || claw_docker_call(d, "GET", "/version", NULL, 30, &v, &e) != 0)
        return claw_pusherror(L, &e);
    char negotiated[16];
    snprintf(negotiated, sizeof negotiated, "1.%d", minor);
    cJSON_AddStringToObject(v, "NegotiatedApiVersion", negotiated);
    return result(L, v, &e);
}

/* filters[key] = { value, ... } from a string or a list of strings in opts[key]. */
static void add_filter(lua_State *L, int arg, cJSON *filters, const char *key)
{
    int t = lua_type(L, arg) == LUA_TTABLE ? lua_getfield(L, arg, key) : (lua_pushnil(L), LUA_TNIL);
    if (t == LUA_TSTRING) {
        cJSON_AddItemToObject(filters, key, cJSON_CreateStringArray((const char *[]){ lua_tostring(L, -1) }, 1));
    } else if (t == LUA_TTABLE) {
        cJSON *list = cJSON_AddArrayToObject(filters, key);
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            cJSON_AddItemToArray(list, cJSON_CreateString(lua_tostring(L, -1)));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    } else if (t != LUA_TNIL) {
        cJSON_Delete(filters);
        char msg[96];
        snprintf(msg, sizeof msg, "field '%s' must be a string or a list of strings", key);
        luaL_argerror(L, arg, msg);
    }
    lua_pop(L, 1);
}

static int l_containers(lua_State *L)
{
    claw_checkopts(L, 1);
    int all = claw_optboolfield(L, 1, "all", 0);
    cJSON *filters = cJSON_CreateObject();
    add_filter(L, 1, filters, "name");
    add_filter(L, 1, filters, "label");
    add_filter(L, 1, filters, "status");
    claw_err e;
    cJSON *list = claw_docker_containers(claw_rt_docker(L), all, filters, &e);
    cJSON_Delete(filters);
    return result(L, list, &e);
}

static int l_inspect(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_err e;
    return result(L, claw_docker_inspect(claw_rt_docker(L), id, &e), &e);
}

static int l_image(lua_State *L)
{
    const char *ref = checkname(L, 1);
    claw_err e;
    return result(L, claw_docker_image(claw_rt_docker(L), ref, &e), &e);
}

/* images{reference=, dangling=} */
static int l_images(lua_State *L)
{
    claw_checkopts(L, 1);
    int dangling = claw_optboolfield(L, 1, "dangling", -1); /* may raise: before allocating */
    cJSON *filters = cJSON_CreateObject();
    add_filter(L, 1, filters, "reference");
    if (dangling >= 0)
        cJSON_AddItemToObject(filters, "dangling",
                              cJSON_CreateStringArray((const char *[]){ dangling ? "true" : "false" }, 1));
    claw_err e;
    cJSON *list = claw_docker_images(claw_rt_docker(L), filters, &e);
    cJSON_Delete(filters);
    return result(L, list, &e);
}

static int l_pull(lua_State *L)
{
    const char *ref = checkname(L, 1);
    claw_checkopts(L, 2);
    if (claw_dry(L, "pull %s", ref)) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, ref);
        lua_setfield(L, -2, "ref");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "updated");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "dry_run");
        return 1;
    }
    claw_rt *rt = claw_rt_get(L);
    claw_err e = { 0 };
    char *auth = claw_dockercfg_auth(ref, &e);
    if (!auth && e.code[0])
        return claw_pusherror(L, &e);
    FILE *progress = isatty(STDERR_FILENO) && !rt->log->json ? stderr : NULL;
    cJSON *r = claw_docker_pull(claw_rt_docker(L), ref, auth, progress, &e);
    free(auth);
    return result(L, r, &e);
}

static int l_tag(lua_State *L)
{
    const char *src = checkname(L, 1), *dst = checkname(L, 2);
    if (claw_dry(L, "tag %s as %s", src, dst))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_tag(claw_rt_docker(L), src, dst, &e), &e);
}

static int l_remove_image(lua_State *L)
{
    const char *ref = checkname(L, 1);
    claw_checkopts(L, 2);
    int force = claw_optboolfield(L, 2, "force", 0);
    if (claw_dry(L, "remove image %s", ref))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_remove_image(claw_rt_docker(L), ref, force, &e), &e);
}

static int l_create(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "Image");
    if (!lua_isstring(L, -1))
        luaL_argerror(L, 1, "field 'Image' must be a string");
    lua_getfield(L, 1, "name");
    const char *name = lua_tostring(L, -1);
    if (claw_dry(L, "create container %s from %s", name ? name : "(unnamed)", lua_tostring(L, -2))) {
        lua_pushfstring(L, "dry-run:%s", name ? name : "container");
        return 1;
    }
    lua_pop(L, 2);
    cJSON *spec = claw_checkjson(L, 1);
    claw_err e;
    char *id = claw_docker_create(claw_rt_docker(L), spec, &e);
    cJSON_Delete(spec);
    if (!id)
        return claw_pusherror(L, &e);
    lua_pushstring(L, id);
    free(id);
    return 1;
}

static int l_start(lua_State *L)
{
    const char *id = checkname(L, 1);
    if (claw_dry(L, "start %s", id))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_start(claw_rt_docker(L), id, &e), &e);
}

static int l_stop(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    double timeout = claw_optnumfield(L, 2, "timeout", -1);
    const char *sig = claw_optstrfield(L, 2, "signal", NULL);
    if (claw_dry(L, "stop %s", id))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_stop(claw_rt_docker(L), id, timeout, sig, &e), &e);
}

static int l_kill(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    const char *sig = claw_optstrfield(L, 2, "signal", "SIGKILL");
    if (claw_dry(L, "send %s to %s", sig, id))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_kill(claw_rt_docker(L), id, sig, &e), &e);
}

static int l_restart(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    double timeout = claw_optnumfield(L, 2, "timeout", -1);
    if (claw_dry(L, "restart %s", id))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_restart(claw_rt_docker(L), id, timeout, &e), &e);
}

static int l_rename(lua_State *L)
{
    const char *id = checkname(L, 1), *name = checkname(L, 2);
    if (claw_dry(L, "rename %s to %s", id, name))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_rename(claw_rt_docker(L), id, name, &e), &e);
}

/* update(c, {RestartPolicy = {Name = "no"}, Memory = ...}): Docker's update body. */
static int l_update(lua_State *L)
{
    const char *id = checkname(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (claw_dry(L, "update %s", id))
        return lua_pushboolean(L, 1), 1;
    cJSON *body = claw_checkjson(L, 2);
    claw_err e;
    int rc = claw_docker_update(claw_rt_docker(L), id, body, &e);
    cJSON_Delete(body);
    return ok(L, rc, &e);
}

static int l_remove(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    int force = claw_optboolfield(L, 2, "force", 0);
    int volumes = claw_optboolfield(L, 2, "volumes", 0);
    if (claw_dry(L, "remove container %s", id))
        return lua_pushboolean(L, 1), 1;
    claw_err e;
    return ok(L, claw_docker_remove(claw_rt_docker(L), id, force, volumes, &e), &e);
}

static int l_wait(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    double timeout = claw_optnumfield(L, 2, "timeout", 0);
    long status;
    claw_err e;
    if (claw_docker_wait(claw_rt_docker(L), id, timeout, &status, &e) != 0)
        return claw_pusherror(L, &e);
    lua_pushinteger(L, status);
    return 1;
}

static int l_logs(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    double tail = claw_optnumfield(L, 2, "tail", -1);
    size_t len;
    claw_err e;
    char *text = claw_docker_logs(claw_rt_docker(L), id, (long)tail, &len, &e);
    if (!text)
        return claw_pusherror(L, &e);
    lua_pushlstring(L, text, len);
    free(text);
    return 1;
}

static int l_exec(lua_State *L)
{
    const char *id = checkname(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    claw_checkopts(L, 3);
    double timeout = claw_optnumfield(L, 3, "timeout", 0);
    lua_Integer n = luaL_len(L, 2);
    if (n == 0)
        luaL_argerror(L, 2, "empty command");
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 2, i) != LUA_TSTRING)
            luaL_argerror(L, 2, "the command must be a list of strings");
        lua_pop(L, 1);
    }
    lua_rawgeti(L, 2, 1);
    if (claw_dry(L, "run %s in %s", lua_tostring(L, -1), id)) {
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, 0);
        lua_setfield(L, -2, "exit_code");
        lua_pushliteral(L, "");
        lua_setfield(L, -2, "output");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "dry_run");
        return 1;
    }
    lua_pop(L, 1);
    cJSON *argv = claw_checkjson(L, 2);
    claw_err e;
    cJSON *r = claw_docker_exec(claw_rt_docker(L), id, argv, timeout, &e);
    cJSON_Delete(argv);
    return result(L, r, &e);
}

static int l_wait_healthy(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    double timeout = claw_optnumfield(L, 2, "timeout", 0);
    double interval = claw_optnumfield(L, 2, "interval", 0.1);
    claw_err e;
    return ok(L, claw_docker_wait_healthy(claw_rt_docker(L), id, timeout, interval, &e), &e);
}

/* opts.unpublish: a list of container ports. Returns them in a userdata-owned array
 * (the strings stay in the options table) and their count in *n. */
static const char **unpublish_list(lua_State *L, int arg, size_t *n)
{
    *n = 0;
    if (lua_type(L, arg) != LUA_TTABLE || lua_getfield(L, arg, "unpublish") == LUA_TNIL) {
        if (lua_type(L, arg) == LUA_TTABLE)
            lua_pop(L, 1);
        return NULL;
    }
    if (!lua_istable(L, -1))
        luaL_argerror(L, arg, "field 'unpublish' must be a list of container ports");
    size_t len = (size_t)luaL_len(L, -1);
    const char **ports = lua_newuserdatauv(L, (len ? len : 1) * sizeof *ports, 0);
    for (size_t i = 0; i < len; i++) {
        if (lua_geti(L, -2, (lua_Integer)i + 1) != LUA_TSTRING)
            luaL_argerror(L, arg, "field 'unpublish' must be a list of container ports");
        ports[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_rotate(L, -2, 1); /* keep the array, drop the list (still in the options) */
    lua_pop(L, 1);
    *n = len;
    return ports;
}

static int l_clone(lua_State *L)
{
    const char *id = checkname(L, 1);
    claw_checkopts(L, 2);
    const char *image = claw_optstrfield(L, 2, "image", NULL);
    const char *name = claw_optstrfield(L, 2, "name", NULL);
    int ports = claw_optboolfield(L, 2, "ports", 1);
    size_t n;
    const char **unpublish = unpublish_list(L, 2, &n);
    claw_docker *d = claw_rt_docker(L);
    claw_err e;
    cJSON *c = claw_docker_inspect(d, id, &e);
    if (!c)
        return claw_pusherror(L, &e);
    const char *img_id = cJSON_GetStringValue(cJSON_GetObjectItem(c, "Image"));
    cJSON *img = img_id ? claw_docker_image(d, img_id, &e) : NULL; /* may be gone: no defaults */
    int minor = claw_docker_api_minor(d, &e);
    cJSON *spec = claw_clone_spec(c, img, image, name, minor, &e);
    cJSON_Delete(img);
    cJSON_Delete(c);
    if (spec && ((n && claw_clone_unpublish(spec, unpublish, n, &e) != 0) ||
                 (!ports && claw_clone_unpublish(spec, NULL, 0, &e) != 0))) {
        cJSON_Delete(spec);
        spec = NULL;
    }
    return result(L, spec, &e);
}

/* ---- events: an iterator over a stream that is closed with the loop ---- */

static const char EVENTS_MT[] = "claw.Events";

typedef struct {
    claw_events *s;
    double deadline; /* monotonic; 0 for none */
} events_ud;

static int events_close(lua_State *L)
{
    events_ud *u = luaL_checkudata(L, 1, EVENTS_MT);
    claw_docker_events_close(u->s);
    u->s = NULL;
    return 0;
}

static int events_next(lua_State *L)
{
    events_ud *u = luaL_checkudata(L, lua_upvalueindex(1), EVENTS_MT);
    if (!u->s)
        return 0;
    double wait = u->deadline > 0 ? u->deadline - claw_clock_monotonic() : 3600;
    cJSON *ev = NULL;
    int ended = 0;
    claw_err e;
    for (;;) {
        int rc = claw_docker_events_next(u->s, wait > 0 ? wait : 0, &ev, &ended, &e);
        if (rc < 0) {
            claw_docker_events_close(u->s);
            u->s = NULL;
            return claw_throw(L, &e);
        }
        if (rc > 0) {
            claw_pushjson(L, ev);
            cJSON_Delete(ev);
            return 1;
        }
        if (ended || u->deadline > 0)
            return 0; /* the stream ended, or the timeout passed */
    }
}

static int l_events(lua_State *L)
{
    claw_checkopts(L, 1);
    double since = claw_optnumfield(L, 1, "since", 0);
    double until = claw_optnumfield(L, 1, "until", 0);
    double timeout = claw_optnumfield(L, 1, "timeout", 0);
    cJSON *filters = NULL;
    if (lua_type(L, 1) == LUA_TTABLE && lua_getfield(L, 1, "filters") != LUA_TNIL) {
        if (!lua_istable(L, -1))
            luaL_argerror(L, 1, "field 'filters' must be a table");
        filters = claw_checkjson(L, lua_gettop(L));
    }
    claw_docker *d = claw_rt_docker(L);
    events_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->s = NULL;
    u->deadline = timeout > 0 ? claw_clock_monotonic() + timeout : 0;
    if (luaL_newmetatable(L, EVENTS_MT)) {
        lua_pushcfunction(L, events_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, events_close);
        lua_setfield(L, -2, "__close");
    }
    lua_setmetatable(L, -2);
    claw_err e;
    u->s = claw_docker_events_open(d, filters, since, until, &e);
    cJSON_Delete(filters);
    if (!u->s)
        return claw_pusherror(L, &e);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, events_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, -4); /* the closing value of the generic for */
    return 4;
}

static const luaL_Reg funcs[] = {
    { "ping", l_ping },         { "version", l_version },
    { "containers", l_containers }, { "inspect", l_inspect },
    { "image", l_image },       { "images", l_images },
    { "pull", l_pull },
    { "tag", l_tag },           { "remove_image", l_remove_image },
    { "create", l_create },     { "start", l_start },
    { "stop", l_stop },         { "kill", l_kill },
    { "restart", l_restart },   { "rename", l_rename },
    { "update", l_update },
    { "remove", l_remove },     { "wait", l_wait },
    { "logs", l_logs },         { "exec", l_exec },
    { "events", l_events },     { "wait_healthy", l_wait_healthy },
    { "clone", l_clone },       { NULL, NULL },
};

int luaopen_claw_docker(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
