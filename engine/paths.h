/* Where clawengine keeps its own state (backups now; journal and history later). */
#ifndef CLAW_PATHS_H
#define CLAW_PATHS_H

#include <stddef.h>

/* $CLAWENGINE_STATE_DIR; else /var/lib/clawengine for root; else
 * $XDG_STATE_HOME/clawengine or ~/.local/state/clawengine. */
const char *claw_state_dir(char *buf, size_t size);

#endif
