/* A Docker Compose file read the way `docker compose` reads it: YAML, the .env file
 * beside it, ${VAR} interpolation, and the project name, so that clawengine names
 * and finds the same containers as Compose does. Merging several files, `extends`,
 * `include` and profiles are not handled. */
#ifndef CLAW_COMPOSE_H
#define CLAW_COMPOSE_H

#include <cjson/cJSON.h>

#include "err.h"

/* Loads the compose file at `path`. env is a NULL-terminated array of "NAME=VALUE"
 * strings, or NULL for the process environment; its values win over the .env file's.
 * Returns the project, which the caller frees with cJSON_Delete:
 *   {"name":, "file": <absolute path>, "dir": <absolute directory>, "services": {...},
 *    "networks":, "volumes":, "secrets":, "configs":, "x-...":}
 * (sections absent from the file are omitted; each service gains "name": its key).
 * The project name is COMPOSE_PROJECT_NAME (environment, then .env), else the
 * top-level `name:`, else the directory's base name normalised as Compose does.
 * Errors: those of claw_yaml_load; CLAW_E_PARSE "PATH: DOTTED.PATH: invalid
 * interpolation format for \"VALUE\"" or "ENVFILE:LINE: problem"; CLAW_E_INVALID
 * "PATH: DOTTED.PATH: required variable NAME is missing a value: MESSAGE",
 * "PATH: no services", "PATH: invalid project name ...". */
cJSON *claw_compose_load(const char *path, char *const *env, claw_err *err);

#endif
