/* Checking the daemon's config tree (YAML read into cJSON, engine/yaml.c): every
 * error names the file and the place ("daemon.yml: routes.gw.port: must be ..."). */
#ifndef CLAW_CFG_H
#define CLAW_CFG_H

#include <cjson/cJSON.h>

#include "err.h"

/* Fails with "FILE: WHERE: WHAT" (code invalid); returns -1. */
int claw_cfg_bad(claw_err *err, const char *file, const char *where, const char *what);
/* Refuses a key of o not in keys (NULL-terminated). */
int claw_cfg_only_keys(const cJSON *o, const char *const *keys, const char *file,
                       const char *where, claw_err *err);
/* A number of seconds >= 0, or dflt when v is absent; -1 for anything else. */
int claw_cfg_seconds(const cJSON *v, double dflt, double *out);
/* A string or a list of strings, as a new array (an empty list when v is absent when
 * allow_empty); NULL for anything else. */
cJSON *claw_cfg_strings(const cJSON *v, int allow_empty);

/* A route's or the API's listening addresses: at most this many. */
#define CLAW_MAX_LISTEN 16

#endif
