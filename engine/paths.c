#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
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
