/* Registry credentials the way the docker CLI stores them: $DOCKER_CONFIG/config.json
 * or ~/.docker/config.json, "auths" entries with base64 "user:password". */
#ifndef CLAW_DOCKERCFG_H
#define CLAW_DOCKERCFG_H

#include "err.h"

/* The X-Registry-Auth value for the registry of image reference `ref`, or NULL when
 * there are no stored credentials for it (anonymous pulls). err is set only for a
 * config file that exists and cannot be read or parsed. */
char *claw_dockercfg_auth(const char *ref, claw_err *err);

#endif
