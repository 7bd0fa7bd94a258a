/* Registry credentials the way the docker CLI stores them: $DOCKER_CONFIG/config.json
 * or ~/.docker/config.json, with "credHelpers" (per registry), "credsStore" (for all)
 * and "auths" entries with base64 "user:password". A helper is the program
 * docker-credential-<name>, run as `docker-credential-<name> get` with the server on
 * its standard input. */
#ifndef CLAW_DOCKERCFG_H
#define CLAW_DOCKERCFG_H

#include "err.h"

typedef struct claw_cred {
    char username[256];
    char secret[4096]; /* the password, or an identity token when username is "<token>" */
} claw_cred;

/* The credentials stored for the registry whose config key is `key` (what
 * claw_ref_auth_key gives: "localhost:5000", "https://index.docker.io/v1/"):
 * 1 found, 0 none, -1 when the config cannot be read or parsed or a helper fails. A
 * helper's "credentials not found" falls back to "auths". */
int claw_dockercfg_creds(const char *key, claw_cred *c, claw_err *err);

/* The X-Registry-Auth value for the registry of image reference `ref`, or NULL when
 * there are no stored credentials for it (anonymous pulls). err is set (and NULL
 * returned) when the config file exists and cannot be read or parsed, or a helper
 * fails. */
char *claw_dockercfg_auth(const char *ref, claw_err *err);

#endif
