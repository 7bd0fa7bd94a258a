/* require "claw.notify": notifications to mail servers and webhooks. Each function
 * converts its arguments, calls engine/notify.c and converts the answer. The default
 * message texts are Lua (claw/notify_templates.lua). send honours --dry-run. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lclaw.h"
#include "notify.h"

#define DEFAULT_TIMEOUT 30.0

static const char *checkurl(lua_State *L, int arg)
{
    size_t n;
    const char *s = luaL_checklstring(L, arg, &n);
    if (n == 0)
        luaL_argerror(L, arg, "empty URL");
    return s;
}

/* notify.parse(url) → a table describing the target, secrets masked; nil, err. */
static int l_parse(lua_State *L)
{
    const char *url = checkurl(L, 1);
    claw_notify_target t;
    claw_err e;
    if (claw_notify_parse(url, &t, &e) != 0) {
        claw_notify_target_free(&t);
        return claw_pusherror(L, &e);
    }
    cJSON *d = claw_notify_describe(&t);
    claw_notify_target_free(&t);
    claw_pushjson(L, d);
    cJSON_Delete(d);
    return 1;
}

/* msg.template: a name in claw.notify_templates or a function; called with msg.data
 * (or msg itself), it returns subject, text. Leaves them on the stack. */
static void run_template(lua_State *L, int msg)
{
    int t = lua_getfield(L, msg, "template");
    if (t == LUA_TSTRING) {
        lua_getglobal(L, "require");
        lua_pushliteral(L, "claw.notify_templates");
        lua_call(L, 1, 1);
        lua_getfield(L, -1, lua_tostring(L, -2));
        if (lua_type(L, -1) != LUA_TFUNCTION) {
            lua_pushfstring(L, "field 'template': no template '%s' in claw.notify_templates",
                            lua_tostring(L, -3));
            luaL_argerror(L, msg, lua_tostring(L, -1));
        }
        lua_replace(L, -3);
        lua_pop(L, 1);
    } else if (t != LUA_TFUNCTION) {
        luaL_argerror(L, msg, "field 'template' must be a string or a function");
    }
    if (lua_getfield(L, msg, "data") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushvalue(L, msg);
    }
    lua_call(L, 1, 2);
    if (!lua_isstring(L, -2) || !lua_isstring(L, -1))
        luaL_error(L, "the notification template must return subject, text (strings)");
}

/* notify.send(url, {subject=, text=, fields=, template=, data=, timeout=}) → true or
 * nil, err. */
static int l_send(lua_State *L)
{
    const char *url = checkurl(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    double timeout = claw_optnumfield(L, 2, "timeout", DEFAULT_TIMEOUT);
    if (!(timeout > 0))
        luaL_argerror(L, 2, "field 'timeout' must be positive");
    int top = lua_gettop(L);
    const char *subject, *text;
    if (lua_getfield(L, 2, "template") != LUA_TNIL) {
        lua_pop(L, 1);
        run_template(L, 2);
        subject = lua_tostring(L, top + 1);
        text = lua_tostring(L, top + 2);
    } else {
        lua_pop(L, 1);
        subject = claw_optstrfield(L, 2, "subject", NULL);
        text = claw_optstrfield(L, 2, "text", NULL);
    }
    if ((!subject || !*subject) && (!text || !*text))
        luaL_argerror(L, 2, "a message needs a subject or a text");
    cJSON *fields = NULL;
    int ft = lua_getfield(L, 2, "fields");
    if (ft == LUA_TTABLE) {
        claw_err je;
        fields = claw_tojson(L, -1, &je);
        if (fields && cJSON_IsArray(fields) && cJSON_GetArraySize(fields) == 0) {
            cJSON_Delete(fields); /* {} */
            fields = NULL;
        } else if (!fields || !cJSON_IsObject(fields)) {
            cJSON_Delete(fields);
            luaL_argerror(L, 2, fields ? "field 'fields' must be a table of named values"
                                       : lua_pushfstring(L, "field 'fields': %s", je.message));
        }
    } else if (ft != LUA_TNIL) {
        luaL_argerror(L, 2, "field 'fields' must be a table");
    }
    lua_pop(L, 1);

    claw_notify_target t;
    claw_err e;
    claw_rt *rt = claw_rt_get(L);
    int rc = claw_notify_parse(url, &t, &e);
    claw_notify_msg m = { subject, text, fields };
    if (rc == 0 && claw_dry(L, "send \"%s\" to %s", subject && *subject ? subject : "(no subject)",
                            t.display)) {
        char *plain = claw_notify_plain(&m, 0);
        claw_log_printf(rt->log, CLAW_LOG_DEBUG, "dry-run: the text would be:\n%s", plain ? plain : "");
        free(plain);
    } else if (rc == 0) {
        rc = claw_notify_send(&t, &m, rt->cancel, timeout, &e);
        if (rc == 0)
            claw_log_printf(rt->log, CLAW_LOG_DEBUG, "sent notification \"%s\" to %s",
                            subject ? subject : "", t.display);
    }
    claw_notify_target_free(&t);
    cJSON_Delete(fields);
    if (rc != 0)
        return claw_pusherror(L, &e);
    lua_pushboolean(L, 1);
    return 1;
}

/* Appends the whitespace-separated words of s to the list on top of the stack. */
static void add_words(lua_State *L, const char *s)
{
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        size_t n = 0;
        while (s[n] && !isspace((unsigned char)s[n]))
            n++;
        if (n) {
            lua_pushlstring(L, s, n);
            lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
        }
        s += n;
    }
}

/* notify.targets(list_or_nil) → the URLs given (a list, or a string of
 * space-separated URLs), or when none, those in $CLAWENGINE_NOTIFY. */
static int l_targets(lua_State *L)
{
    int t = lua_type(L, 1);
    if (t != LUA_TNONE && t != LUA_TNIL && t != LUA_TTABLE && t != LUA_TSTRING)
        luaL_typeerror(L, 1, "table, string or nil");
    lua_newtable(L);
    if (t == LUA_TSTRING) {
        add_words(L, lua_tostring(L, 1));
    } else if (t == LUA_TTABLE) {
        for (lua_Integer i = 1;; i++) {
            int vt = lua_rawgeti(L, 1, i);
            if (vt == LUA_TNIL) {
                lua_pop(L, 1);
                break;
            }
            if (vt != LUA_TSTRING)
                luaL_argerror(L, 1, lua_pushfstring(L, "item %I is not a string", i));
            const char *s = lua_tostring(L, -1);
            lua_pop(L, 1);
            add_words(L, s);
        }
    }
    if (luaL_len(L, -1) == 0) {
        const char *env = getenv("CLAWENGINE_NOTIFY");
        if (env)
            add_words(L, env);
    }
    return 1;
}

/* notify.mask(text) → text with the password of every URL in it masked. */
static int l_mask(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    size_t size = n * 2 + 16;
    char *out = malloc(size);
    if (!out)
        return luaL_error(L, "out of memory");
    claw_notify_mask(s, out, size);
    lua_pushstring(L, out);
    free(out);
    return 1;
}

static const luaL_Reg funcs[] = {
    { "send", l_send }, { "parse", l_parse }, { "targets", l_targets }, { "mask", l_mask },
    { NULL, NULL },
};

int luaopen_claw_notify(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
