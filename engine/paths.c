#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *claw_state_dir(char *buf, size_t size)
{
    const char *env = getenv("CLAWENGINE_STATE_DIR");
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(buf, size, "%s", env);
    else if (geteuid() == 0)
        snprintf(buf, size, "/var/lib/clawengine");
    else if (xdg && *xdg)
        snprintf(buf, size, "%s/clawengine", xdg);
    else
        snprintf(buf, size, "%s/.local/state/clawengine", home ? home : ".");
    return buf;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void claw_find_dirs(const char *exe, char *lua_dir, char *pol_dir, size_t size)
{
    const char *env = getenv("CLAWENGINE_PATH");
    const char *slash = strrchr(exe, '/');
    int dir = slash ? (int)(slash - exe) : 0;
    snprintf(lua_dir, size, "%.*s/../share/clawengine/lua", dir, exe);
    snprintf(pol_dir, size, "%.*s/../share/clawengine/policies", dir, exe);
    if (!is_dir(lua_dir)) {
        snprintf(lua_dir, size, "%s/lua", CLAW_SOURCE_DIR);
        snprintf(pol_dir, size, "%s/policies", CLAW_SOURCE_DIR);
    }
    if (!is_dir(lua_dir)) {
        snprintf(lua_dir, size, "%s/lua", CLAW_DATADIR);
        snprintf(pol_dir, size, "%s/policies", CLAW_DATADIR);
    }
    if (env && *env)
        snprintf(lua_dir, size, "%s", env);
}

const char *claw_policy_find(const char *name, const char *pol_dir, char *buf, size_t size)
{
    if (access(name, F_OK) == 0)
        return name;
    if (strchr(name, '/') && strncmp(name, "policies/", 9) != 0)
        return NULL;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    const char *ext = strstr(base, ".lua") ? "" : ".lua";
    snprintf(buf, size, "%s/%s%s", pol_dir, base, ext);
    return access(buf, F_OK) == 0 ? buf : NULL;
}

int claw_find_daemon(const char *exe, char paths[3][4096], int *n)
{
    const char *slash = strrchr(exe, '/');
    int dir = slash ? (int)(slash - exe) : 0;
    *n = 0;
    snprintf(paths[(*n)++], 4096, "%.*s/clawengine-daemon", dir, exe);
    snprintf(paths[(*n)++], 4096, "%.*s/%s/clawengine-daemon", dir, exe, CLAW_LIBEXEC_FROM_BIN);
    snprintf(paths[(*n)++], 4096, "%s/clawengine-daemon", CLAW_LIBEXECDIR);
    for (int i = 0; i < *n; i++)
        if (access(paths[i], X_OK) == 0)
            return i;
    return -1;
}
