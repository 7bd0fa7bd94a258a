/* require "claw.registry": the registry HTTP API v2, to learn what a tag points at
 * without pulling. Each function converts its arguments, calls engine/registry.c and
 * converts the answer. One client per run keeps connections, tokens and the pace
 * per registry. Lookups only look, so they run under --dry-run too. */
#include <stdlib.h>
#include <string.h>

#include "lclaw.h"
#include "ref.h"
#include "registry.h"

static const char CLIENT_MT[] = "claw.RegistryClient";
static const char CLIENT_KEY[] = "claw.registry.client";

typedef struct {
    claw_registry *reg;
} client_ud;

static int client_gc(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    claw_registry_free(u->reg);
    u->reg = NULL;
    return 0;
}

static claw_registry *client(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, CLIENT_KEY) == LUA_TUSERDATA) {
        client_ud *u = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return u->reg;
    }
    lua_pop(L, 1);
    client_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->reg = NULL;
    if (luaL_newmetatable(L, CLIENT_MT)) {
        lua_pushcfunction(L, client_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    u->reg = claw_registry_new(claw_rt_get(L)->cancel);
    if (!u->reg)
        claw_raise(L, CLAW_E_IO, "cannot initialise libcurl");
    lua_setfield(L, LUA_REGISTRYINDEX, CLIENT_KEY);
    return u->reg;
}

/* ---- arguments ---- */

static const char *checkref(lua_State *L, int arg)
{
    size_t n;
    const char *s = luaL_checklstring(L, arg, &n);
    if (n == 0)
        luaL_argerror(L, arg, "empty image reference");
    return s;
}

/* A NULL-terminated array of the strings of the list (or single string) at idx,
 * in a userdata pushed on the stack; the strings belong to the list. */
static const char **checkstrings(lua_State *L, int idx, int arg, const char *what)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char **v = lua_newuserdatauv(L, 2 * sizeof *v, 0);
        v[0] = lua_tostring(L, idx);
        v[1] = NULL;
        return v;
    }
    if (!lua_istable(L, idx))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a list of strings", what));
    lua_Integer n = luaL_len(L, idx);
    const char **v = lua_newuserdatauv(L, sizeof *v * (size_t)(n + 1), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a list of strings", what));
        v[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    v[n] = NULL;
    return v;
}

static int optcount(lua_State *L, int arg, const char *key, int dflt)
{
    double v = claw_optnumfield(L, arg, key, dflt);
    if (v < 1 || v > 1000 || v != (double)(int)v)
        luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be a whole number from 1 to 1000", key));
    return (int)v;
}

/* The options shared by digest, digests and tags. Leaves one value on the stack
 * (the insecure list's array) that must stay while o is used. */
static void checkregopts(lua_State *L, int arg, claw_registry_opts *o)
{
    claw_checkopts(L, arg);
    memset(o, 0, sizeof *o);
    o->timeout = claw_optnumfield(L, arg, "timeout", 30);
    if (!(o->timeout > 0))
        luaL_argerror(L, arg, "field 'timeout' must be positive");
    o->interval = claw_optnumfield(L, arg, "interval", 0);
    if (!(o->interval >= 0))
        luaL_argerror(L, arg, "field 'interval' must not be negative");
    o->ca = claw_optstrfield(L, arg, "ca", NULL);
    o->concurrency = optcount(L, arg, "concurrency", 16);
    o->per_host = optcount(L, arg, "per_host", 8);
    if (lua_type(L, arg) == LUA_TTABLE && lua_getfield(L, arg, "insecure") != LUA_TNIL) {
        o->insecure = checkstrings(L, -1, arg, "field 'insecure'");
        lua_remove(L, -2);
    } else {
        if (lua_type(L, arg) == LUA_TTABLE)
            lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* ---- results ---- */

static void setstr(lua_State *L, const char *key, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, key);
}

static void pushresult(lua_State *L, const claw_registry_result *r)
{
    lua_createtable(L, 0, 5);
    setstr(L, "digest", r->digest);
    setstr(L, "media_type", r->media_type);
    setstr(L, "registry", r->registry);
    setstr(L, "repository", r->repository);
    setstr(L, "tag", r->tag);
}

/* parse(ref): { registry =, repository =, tag =, digest = } as Docker reads it, or
 * nil, err (invalid) */
static int l_parse(lua_State *L)
{
    claw_ref ref;
    claw_err err;
    if (claw_ref_parse(luaL_checkstring(L, 1), &ref, &err) != 0)
        return claw_pusherror(L, &err);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, ref.domain);
    lua_setfield(L, -2, "registry");
    lua_pushstring(L, ref.path);
    lua_setfield(L, -2, "repository");
    if (ref.tag[0]) {
        lua_pushstring(L, ref.tag);
        lua_setfield(L, -2, "tag");
    }
    if (ref.digest[0]) {
        lua_pushstring(L, ref.digest);
        lua_setfield(L, -2, "digest");
    }
    return 1;
}

/* digest(ref, {insecure=, timeout=, ca=, interval=}) */
static int l_digest(lua_State *L)
{
    const char *ref = checkref(L, 1);
    claw_registry_opts o;
    checkregopts(L, 2, &o);
    claw_registry_result r;
    claw_err e;
    if (claw_registry_digest(client(L), ref, &o, &r, &e) != 0)
        return claw_pusherror(L, &e);
    pushresult(L, &r);
    return 1;
}

/* digests({ref, ...}, {concurrency=, per_host=, ...}) */
static int l_digests(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    claw_registry_opts o;
    checkregopts(L, 2, &o);
    const char **refs = checkstrings(L, 1, 1, "the references");
    size_t n = 0;
    while (refs[n])
        n++;
    claw_registry_result *out = lua_newuserdatauv(L, sizeof *out * (n ? n : 1), 0);
    claw_err e;
    if (claw_registry_digests(client(L), refs, n, &o, out, &e) != 0)
        return claw_throw(L, &e); /* only an interrupt */
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        if (out[i].err.code[0]) {
            lua_createtable(L, 0, 2);
            claw_newerror(L, &out[i].err);
            lua_setfield(L, -2, "error");
        } else {
            pushresult(L, &out[i]);
        }
        setstr(L, "ref", refs[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* The tag list while it is copied into Lua: freed by __gc if a push raises. */
static const char TAGS_MT[] = "claw.RegistryTags";

static int tags_gc(lua_State *L)
{
    char ***u = luaL_checkudata(L, 1, TAGS_MT);
    claw_registry_tags_free(*u);
    *u = NULL;
    return 0;
}

/* tags(repo, {limit=, page=, ...}) */
static int l_tags(lua_State *L)
{
    const char *repo = checkref(L, 1);
    claw_registry_opts o;
    checkregopts(L, 2, &o);
    double limit = claw_optnumfield(L, 2, "limit", 0), page = claw_optnumfield(L, 2, "page", 0);
    if (limit < 0 || limit != (double)(long)limit)
        luaL_argerror(L, 2, "field 'limit' must be a whole number");
    if (page < 0 || page > 10000 || page != (double)(long)page)
        luaL_argerror(L, 2, "field 'page' must be a whole number up to 10000");
    size_t n = 0;
    claw_err e;
    char **tags = claw_registry_tags(client(L), repo, (size_t)limit, (size_t)page, &o, &n, &e);
    if (!tags)
        return claw_pusherror(L, &e);
    char ***holder = lua_newuserdatauv(L, sizeof *holder, 0);
    *holder = tags;
    if (luaL_newmetatable(L, TAGS_MT)) {
        lua_pushcfunction(L, tags_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, tags[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    claw_registry_tags_free(tags);
    *holder = NULL;
    return 1;
}

/* compare(image or RepoDigests, remote): remote is digest()'s result, a
 * "name@sha256:..." string, or a bare digest that matches any repository. */
static int l_compare(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int list = 1;
    if (lua_getfield(L, 1, "RepoDigests") == LUA_TTABLE)
        list = lua_gettop(L);
    else
        lua_pop(L, 1);
    const char *registry = NULL, *repository = NULL, *digest = NULL;
    claw_ref ref;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "digest");
        lua_getfield(L, 2, "registry");
        lua_getfield(L, 2, "repository");
        digest = lua_tostring(L, -3);
        registry = lua_tostring(L, -2);
        repository = lua_tostring(L, -1);
        if (!digest || !registry || !repository)
            luaL_argerror(L, 2, "want registry.digest's result (digest, registry, repository)");
    } else {
        const char *s = luaL_checkstring(L, 2);
        if (strchr(s, '@')) {
            if (claw_ref_parse(s, &ref, NULL) != 0 || !ref.digest[0])
                luaL_argerror(L, 2, "want \"name@sha256:...\" or a digest");
            registry = ref.domain, repository = ref.path, digest = ref.digest;
        } else {
            digest = s;
        }
    }
    lua_Integer n = luaL_len(L, list);
    const char **v = lua_newuserdatauv(L, sizeof *v * (size_t)(n ? n : 1), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        v[i - 1] = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        lua_pop(L, 1); /* the list keeps the string */
    }
    lua_pushboolean(L, claw_registry_has_digest(v, (size_t)n, registry, repository, digest));
    return 1;
}

/* newer(current, tags, {policy=, level=, include=, exclude=}) */
static int l_newer(lua_State *L)
{
    static const char *const policies[] = { "semver", "calver", NULL };
    static const char *const levels[] = { "major", "minor", "patch", NULL };
    const char *current = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    claw_checkopts(L, 3);
    claw_newer_opts o = { 0 };
    const char *policy = claw_optstrfield(L, 3, "policy", "semver");
    const char *level = claw_optstrfield(L, 3, "level", "major");
    int pi = 0, li = 0;
    while (policies[pi] && strcmp(policies[pi], policy) != 0)
        pi++;
    while (levels[li] && strcmp(levels[li], level) != 0)
        li++;
    if (!policies[pi])
        luaL_argerror(L, 3, "field 'policy' must be \"semver\" or \"calver\"");
    if (!levels[li])
        luaL_argerror(L, 3, "field 'level' must be \"major\", \"minor\" or \"patch\"");
    o.policy = pi == 0 ? CLAW_VER_SEMVER : CLAW_VER_CALVER;
    o.level = li == 0 ? CLAW_VER_MAJOR : li == 1 ? CLAW_VER_MINOR : CLAW_VER_PATCH;
    o.include = claw_optstrfield(L, 3, "include", NULL);
    o.exclude = claw_optstrfield(L, 3, "exclude", NULL);
    const char **tags = checkstrings(L, 2, 2, "the tags");
    size_t n = 0;
    while (tags[n])
        n++;
    claw_err e;
    const char *best = claw_registry_newer(current, tags, n, &o, &e);
    if (best) {
        lua_pushstring(L, best);
        return 1;
    }
    if (!e.code[0]) {
        lua_pushnil(L);
        return 1;
    }
    if (strstr(e.message, " pattern \"")) /* a bad pattern is the policy's mistake */
        luaL_argerror(L, 3, e.message);
    return claw_pusherror(L, &e);
}

static const luaL_Reg funcs[] = {
    { "digest", l_digest },   { "digests", l_digests }, { "tags", l_tags },
    { "compare", l_compare }, { "newer", l_newer },     { "parse", l_parse },
    { NULL, NULL },
};

int luaopen_claw_registry(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
