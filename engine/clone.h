/* docker.clone: the create body that makes the same container again with another
 * image and/or name. Settings the user made are kept; what only came from the old
 * image (its env, cmd, entrypoint, labels, workdir, ...) is left out so the new
 * image's defaults apply. */
#ifndef CLAW_CLONE_H
#define CLAW_CLONE_H

#include <cjson/cJSON.h>

#include "err.h"

/* container: its inspect; image: the inspect of the image it runs now; new_image and
 * new_name may be NULL (keep); api_minor: the daemon's negotiated API version. */
cJSON *claw_clone_spec(const cJSON *container, const cJSON *image, const char *new_image,
                       const char *new_name, int api_minor, claw_err *err);

/* Takes host port bindings out of a spec made by claw_clone_spec, so the clone can
 * run beside the original: the bindings of each container port in `ports` (Docker's
 * keys, "18789/tcp"; a bare "18789" means tcp), or, when ports is NULL, every binding
 * and PublishAllPorts. The ports stay exposed; nothing else changes. A malformed
 * port is refused (CLAW_E_INVALID) before the spec is touched. */
int claw_clone_unpublish(cJSON *spec, const char *const *ports, size_t n, claw_err *err);

#endif
