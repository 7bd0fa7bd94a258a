/* `clawengine daemon`: owns the published ports (the traffic switch), answers the
 * admin socket, keeps route state across restarts. It must never die because a
 * command or a backend failed. */
#ifndef CLAW_DAEMON_H
#define CLAW_DAEMON_H

#include "err.h"
#include "log.h"

/* Runs in the foreground until SIGTERM or SIGINT (which it blocks, to read them
 * from a signalfd), or until a new daemon took over. exe is clawengine, which it
 * starts for policy runs and for backend addresses (`clawengine route resolve`).
 * takeover: listen on the sockets of the daemon answering on the admin socket, then
 * tell it to stop (docs/proxy.md, "Upgrading the daemon"). Returns 0 after a clean
 * stop. */
int claw_daemon_run(const char *config_path, const char *docker_host, const char *exe,
                    int takeover, claw_log *log, claw_err *err);
/* Loads and checks the config only (`clawengine daemon --check`), and that the
 * policies its schedules and api.update name exist for `exe`: how many routes and
 * schedules it has. */
int claw_daemon_check(const char *config_path, const char *exe, int *routes, int *schedules,
                      claw_err *err);

#endif
