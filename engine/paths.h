/* Where clawengine keeps its state, and finds its Lua library and stock policies. */
#ifndef CLAW_PATHS_H
#define CLAW_PATHS_H

#include <stddef.h>

/* $CLAWENGINE_STATE_DIR; else /var/lib/clawengine for root; else
 * $XDG_STATE_HOME/clawengine or ~/.local/state/clawengine. */
const char *claw_state_dir(char *buf, size_t size);

/* Where the Lua library and stock policies are for the clawengine binary `exe`:
 * beside an installed binary (../share/clawengine); else the source tree it was
 * built from; else the configured install prefix. $CLAWENGINE_PATH's first entry
 * overrides the library's. */
void claw_find_dirs(const char *exe, char *lua_dir, char *pol_dir, size_t size);

/* The policy `clawengine run NAME` runs: the file NAME; else, for a name without a
 * folder (or policies/NAME), the stock policy in pol_dir (".lua" optional):
 * `clawengine run status` runs policies/status.lua. NULL when neither exists. */
const char *claw_policy_find(const char *name, const char *pol_dir, char *buf, size_t size);

/* Where clawengine-daemon is for the clawengine binary `exe` (docs/development.md):
 * beside it (a build tree); else ../libexec/clawengine of an install, found from exe
 * so that a moved install runs its own; else the configured libexec folder. Fills
 * paths with the *n places looked at, in that order, and returns the index of the
 * first that is executable, or -1. */
int claw_find_daemon(const char *exe, char paths[3][4096], int *n);

#endif
