/* The daemon's HTTP API (docs/http-api.md): POST /v1/update, GET /v1/status,
 * GET /metrics, GET /healthz. This file is the API's meaning (config, bearer token,
 * endpoints, status codes); the bytes on the wire are httpd.c's, and what the
 * endpoints report comes from the daemon through hooks. */
#ifndef CLAW_API_H
#define CLAW_API_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "httpd.h"
#include "log.h"

#define CLAW_API_DEFAULT_LISTEN "127.0.0.1:8080"
#define CLAW_API_MIN_TOKEN 16
#define CLAW_API_MAX_TARGETS 64

/* The `api:` section of the daemon's config. */
typedef struct claw_api_cfg {
    int enabled;
    cJSON *listen;           /* array of addresses */
    char token_file[4096];
    char token[1024];        /* read from token_file when the config is loaded */
    int healthz;             /* /healthz answers without a token */
    double request_timeout;  /* seconds for a request to arrive whole */
    char update_policy[4096]; /* "" when POST /v1/update has nothing to run */
    cJSON *update_args;      /* array of strings */
    double update_timeout;   /* seconds; 0: none */
} claw_api_cfg;

/* Reads `api` (may be NULL: the API is off) and the token file it names. */
int claw_api_cfg_parse(const cJSON *api, const char *file, claw_api_cfg *out, claw_err *err);
void claw_api_cfg_free(claw_api_cfg *c);

/* What the endpoints need from the daemon. */
typedef struct claw_api_hooks {
    void *ud;
    cJSON *(*status)(void *ud);               /* the body of /v1/status */
    void (*metrics)(void *ud, claw_buf *out); /* the body of /metrics */
    /* Starts the update policy with these container names (NULL-terminated) as
     * targets: 0 and *id; else -1 with err (code conflict: *running is the update
     * run going on). */
    int (*update)(void *ud, const char *const *targets, unsigned long *id,
                  unsigned long *running, claw_err *err);
    int (*stopping)(void *ud);
} claw_api_hooks;

typedef struct claw_api {
    claw_api_hooks hooks;
    const claw_log *log;
    const claw_api_cfg *cfg; /* the daemon's current config; replaced on reload */
} claw_api;

/* A claw_http_handler; ud is a claw_api. */
void claw_api_handle(void *ud, const claw_http_request *req, const char *peer, claw_http_reply *resp);

/* 1 when got (got_len bytes, not NUL-terminated) is the token want, which is not
 * empty. Constant time: how long it takes depends on the longer of the two lengths
 * only, never on the bytes nor on where they differ. An attacker who sends short
 * tokens may so learn the right one's length, which is no help against its value. */
int claw_api_token_ok(const char *want, const char *got, size_t got_len);

#endif
