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

#endif
