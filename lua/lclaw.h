/* What the binding files share: the runtime context, the error convention, the one
 * converter between cJSON trees and Lua values, and option readers. A binding file
 * converts arguments and results and nothing more. */
#ifndef CLAW_LCLAW_H
#define CLAW_LCLAW_H

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lua.h>

#include "cancel.h"
#include "docker.h"
#include "err.h"
#include "log.h"

/* Owned by main.c; reachable from every binding through the registry. */
typedef struct claw_rt {
    claw_cancel *cancel;
    claw_log *log;
    int dry_run;
    const char *docker_host;  /* -H, or NULL */
    claw_docker *docker;      /* made on first use, freed by main.c */
    const char *lua_dir;      /* the folder of the Lua library (claw/) */
    const char *policy_dir;   /* where the stock policies live */
} claw_rt;

void claw_rt_set(lua_State *L, claw_rt *rt);
claw_rt *claw_rt_get(lua_State *L);
/* The Docker client, made on first use. Raises when it cannot be made. */
claw_docker *claw_rt_docker(lua_State *L);

/* Operational failure: pushes nil and the error table, returns 2. An interrupt is
 * raised instead (after consuming it), so the policy unwinds and its to-be-closed
 * variables run. */
int claw_pusherror(lua_State *L, const claw_err *e);
/* Raises the error table (an interrupt is consumed first, as above). */
int claw_throw(lua_State *L, const claw_err *e);
/* Pushes the error table itself. */
void claw_newerror(lua_State *L, const claw_err *e);
/* Raises an error table {code=code, message=...}. */
int claw_raise(lua_State *L, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The converter (convert.c). Depth is limited; tables that cannot be JSON raise. */
#define CLAW_JSON_MAX_DEPTH 128
void claw_pushjson(lua_State *L, const cJSON *v);
/* Converts the value at idx; on failure returns NULL with the reason in err. */
cJSON *claw_tojson(lua_State *L, int idx, claw_err *err);
/* As claw_tojson, but raises "bad argument #arg to 'fn' (...)" on failure. */
cJSON *claw_checkjson(lua_State *L, int arg);
void claw_pushnull(lua_State *L);       /* json.null */
void claw_pusharraymt(lua_State *L);    /* the metatable marking arrays */

/* Reading the trailing options table (may be absent or nil). Wrong types raise
 * "bad argument #arg to 'fn' (field 'key' must be a number)". */
void claw_checkopts(lua_State *L, int arg);
double claw_optnumfield(lua_State *L, int arg, const char *key, double dflt);
int claw_optboolfield(lua_State *L, int arg, const char *key, int dflt);
const char *claw_optstrfield(lua_State *L, int arg, const char *key, const char *dflt);

/* The modules, opened through package.preload by the runtime. */
int luaopen_claw_docker(lua_State *L);
int luaopen_claw_json(lua_State *L);
int luaopen_claw_yaml(lua_State *L);
int luaopen_claw_backup(lua_State *L);
int luaopen_claw_log(lua_State *L);
int luaopen_claw_time(lua_State *L);
int luaopen_claw_engine(lua_State *L);
int luaopen_claw_health(lua_State *L);
int luaopen_claw_route(lua_State *L);
int luaopen_claw_journal(lua_State *L);
int luaopen_claw_registry(lua_State *L);
int luaopen_claw_notify(lua_State *L);
int luaopen_claw_cron(lua_State *L);
int luaopen_claw_process(lua_State *L);
int luaopen_claw_daemon(lua_State *L);

/* Sends req (consumed) to the daemon's admin socket (option `admin` of the table at
 * opts, else $CLAWENGINE_ADMIN) and pushes the answer's `field` (or true), or nil,
 * err. */
int claw_admin_push(lua_State *L, int opts, cJSON *req, const char *field, double timeout);

/* In dry-run, logs "dry-run: would <what>" and returns 1. */
int claw_dry(lua_State *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
