/* require "claw.health": health probes. Each function converts its arguments into a
 * claw_probe, calls engine/health.c and converts the answer. Probes only look, so
 * they run under --dry-run too. */
#include <math.h>
#include <string.h>

#include "health.h"
#include "lclaw.h"

#define WAIT_TIMEOUT 60.0 /* a wait without timeout= still ends */

/* ---- the HTTP client of the probes: one per run, so waits reuse a connection ---- */

static const char CLIENT_MT[] = "claw.HealthClient";
static const char CLIENT_KEY[] = "claw.health.http";

typedef struct {
    claw_http *http;
} client_ud;

static int client_gc(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    claw_http_free(u->http);
    u->http = NULL;
    return 0;
}

static claw_http *http_client(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, CLIENT_KEY) == LUA_TUSERDATA) {
        client_ud *u = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return u->http;
    }
    lua_pop(L, 1);
    client_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->http = NULL;
    if (luaL_newmetatable(L, CLIENT_MT)) {
        lua_pushcfunction(L, client_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    u->http = claw_http_new(claw_rt_get(L)->cancel);
    if (!u->http)
        claw_raise(L, CLAW_E_IO, "cannot initialise libcurl");
    lua_setfield(L, LUA_REGISTRYINDEX, CLIENT_KEY);
    return u->http;
}

/* ---- arguments ---- */

static const char *checktarget(lua_State *L, int arg, const char *what)
{
    size_t n;
    const char *s = luaL_checklstring(L, arg, &n);
    if (n == 0)
        luaL_argerror(L, arg, lua_pushfstring(L, "empty %s", what));
    return s;
}

/* A NULL-terminated argv from the list at idx; the pointers live in a userdata left
 * on the stack (the strings in the list, which the caller's argument holds). */
static const char *const *checkargv(lua_State *L, int idx, int arg)
{
    idx = lua_absindex(L, idx);
    lua_Integer n = luaL_len(L, idx);
    if (n <= 0)
        luaL_argerror(L, arg, "empty command");
    const char **argv = lua_newuserdatauv(L, sizeof *argv * (size_t)(n + 1), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
            luaL_argerror(L, arg, "the command must be a list of strings");
        argv[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    argv[n] = NULL;
    return argv;
}

/* timeout= of a probe, and for HTTP status= and expect= (whose stack index is
 * returned, 0 when absent) from the table at arg. */
static int probe_fields(lua_State *L, int arg, claw_probe *p)
{
    p->timeout = claw_optnumfield(L, arg, "timeout", 0);
    if (strcmp(p->kind, "http") != 0)
        return 0;
    double status = claw_optnumfield(L, arg, "status", 200);
    if (status != floor(status) || (status != 0 && (status < 100 || status > 599)))
        luaL_argerror(L, arg, "field 'status' must be an HTTP status (or 0 for any 2xx)");
    p->expect_status = (int)status;
    if (lua_type(L, arg) != LUA_TTABLE || lua_getfield(L, arg, "expect") == LUA_TNIL) {
        if (lua_type(L, arg) == LUA_TTABLE)
            lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "field 'expect' must be a table, got %s",
                                              luaL_typename(L, -1)));
    return lua_gettop(L);
}

/* ---- running a probe ---- */

/* Runs p once, or waits when w is not NULL, and pushes the results: the JSON body
 * or true (and the elapsed seconds for a wait), or nil, err (, elapsed). */
static int run(lua_State *L, claw_probe *p, int expect_idx, int arg,
               const claw_probe_wait_opts *w)
{
    claw_probe_ctx cx = { .cancel = claw_rt_get(L)->cancel };
    if (strcmp(p->kind, "http") == 0)
        cx.http = http_client(L);
    else if (strcmp(p->kind, "tcp") != 0)
        cx.docker = claw_rt_docker(L);
    cJSON *expect = NULL;
    if (expect_idx) { /* converted last: nothing below raises before it is freed */
        claw_err ce;
        expect = claw_tojson(L, expect_idx, &ce);
        if (!expect || !cJSON_IsObject(expect)) {
            cJSON_Delete(expect);
            luaL_argerror(L, arg, expect ? "field 'expect' must be a table of fields"
                                         : lua_pushfstring(L, "field 'expect': %s", ce.message));
        }
        p->expect = expect;
    }
    cJSON *body = NULL;
    double elapsed = 0;
    claw_err e;
    int rc = w ? claw_probe_wait(&cx, p, w, &body, &elapsed, &e)
               : claw_probe_once(&cx, p, &body, &e);
    cJSON_Delete(expect);
    int n;
    if (rc != 0) {
        n = claw_pusherror(L, &e);
    } else {
        if (body)
            claw_pushjson(L, body);
        else
            lua_pushboolean(L, 1);
        cJSON_Delete(body);
        n = 1;
    }
    if (w) {
        lua_pushnumber(L, elapsed);
        n++;
    }
    return n;
}

static int l_http(lua_State *L)
{
    claw_probe p = { .kind = "http", .target = checktarget(L, 1, "URL") };
    claw_checkopts(L, 2);
    int expect = probe_fields(L, 2, &p);
    return run(L, &p, expect, 2, NULL);
}

static int l_tcp(lua_State *L)
{
    claw_probe p = { .kind = "tcp", .target = checktarget(L, 1, "address") };
    claw_checkopts(L, 2);
    probe_fields(L, 2, &p);
    return run(L, &p, 0, 2, NULL);
}

static int l_docker(lua_State *L)
{
    claw_probe p = { .kind = "docker", .target = checktarget(L, 1, "container name") };
    claw_checkopts(L, 2);
    probe_fields(L, 2, &p);
    return run(L, &p, 0, 2, NULL);
}

static int l_exec(lua_State *L)
{
    claw_probe p = { .kind = "exec", .target = checktarget(L, 1, "container name") };
    luaL_checktype(L, 2, LUA_TTABLE);
    claw_checkopts(L, 3);
    probe_fields(L, 3, &p);
    p.argv = checkargv(L, 2, 2);
    return run(L, &p, 0, 3, NULL);
}

/* An option of wait: a number of seconds (or retries) above 0, or from 0 when
 * zero_ok; every wait ends (DESIGN: everything that blocks has a timeout). */
static double wait_field(lua_State *L, const char *key, double dflt, int zero_ok)
{
    double v = claw_optnumfield(L, 2, key, dflt);
    if (!(zero_ok ? v >= 0 : v > 0) || v > 1e9)
        luaL_argerror(L, 2, lua_pushfstring(L, "field '%s' must be a number %s", key,
                                            zero_ok ? "from 0" : "above 0"));
    return v;
}

/* wait{http=URL | tcp=ADDR | docker=C | exec={C, argv}, ...}, {interval=, ...} */
static int l_wait(lua_State *L)
{
    static const char *const kinds[] = { "http", "tcp", "docker", "exec" };
    luaL_checktype(L, 1, LUA_TTABLE);
    claw_checkopts(L, 2);
    claw_probe p = { 0 };
    int found = 0;
    for (int i = 0; i < 4; i++) {
        if (lua_getfield(L, 1, kinds[i]) != LUA_TNIL) {
            p.kind = kinds[i];
            found++;
        }
        lua_pop(L, 1);
    }
    if (found != 1)
        luaL_argerror(L, 1, "a probe has exactly one of the fields http, tcp, docker, exec");
    if (strcmp(p.kind, "exec") != 0) {
        p.target = claw_optstrfield(L, 1, p.kind, NULL);
        if (!*p.target)
            luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' is empty", p.kind));
    } else {
        lua_getfield(L, 1, "exec");
        if (!lua_istable(L, -1) || lua_rawgeti(L, -1, 1) != LUA_TSTRING ||
            lua_rawgeti(L, -2, 2) != LUA_TTABLE)
            luaL_argerror(L, 1, "field 'exec' must be { container, { command... } }");
        p.target = lua_tostring(L, -2);
        if (!*p.target)
            luaL_argerror(L, 1, "field 'exec' has an empty container name");
        p.argv = checkargv(L, -1, 1);
    }
    int expect = probe_fields(L, 1, &p);
    double retries = wait_field(L, "retries", 0, 1);
    if (retries != floor(retries))
        luaL_argerror(L, 2, "field 'retries' must be a whole number");
    claw_probe_wait_opts w = {
        .interval = wait_field(L, "interval", 0.1, 0),
        .retries = (int)retries,
        .start_period = wait_field(L, "start_period", 0, 1),
        .timeout = wait_field(L, "timeout", WAIT_TIMEOUT, 0),
    };
    return run(L, &p, expect, 1, &w);
}

static int l_url(lua_State *L)
{
    const char *tmpl = luaL_checkstring(L, 1);
    const char *id = checktarget(L, 2, "container name");
    claw_checkopts(L, 3);
    double port = claw_optnumfield(L, 3, "port", 0);
    const char *network = claw_optstrfield(L, 3, "network", NULL);
    if (port != floor(port) || port < 0 || port > 65535)
        luaL_argerror(L, 3, "field 'port' must be a port number");
    claw_docker *d = claw_rt_docker(L);
    char host[256], url[2048];
    int port_out;
    claw_err e;
    if (claw_docker_address(d, id, (int)port, network, host, sizeof host, &port_out, &e) != 0 ||
        claw_probe_url(tmpl, host, port_out, url, sizeof url, &e) != 0)
        return claw_pusherror(L, &e);
    lua_pushstring(L, url);
    return 1;
}

static const luaL_Reg funcs[] = {
    { "http", l_http }, { "tcp", l_tcp },   { "docker", l_docker }, { "exec", l_exec },
    { "wait", l_wait }, { "url", l_url },   { NULL, NULL },
};

int luaopen_claw_health(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
