/* Exit codes of clawengine and clawengine-daemon (docs/cli.md), and the usage error
 * both print. Here rather than in lua/runtime.h because the daemon program includes
 * nothing of Lua. */
#ifndef CLAW_EXITCODE_H
#define CLAW_EXITCODE_H

enum {
    CLAW_EXIT_OK = 0,
    CLAW_EXIT_FAILURE = 1,     /* the policy reported failure */
    CLAW_EXIT_USAGE = 2,
    CLAW_EXIT_POLICY = 3,      /* syntax or runtime error in the policy */
    CLAW_EXIT_UNREACHABLE = 4, /* Docker unreachable */
    /* `clawengine daemon` cannot start clawengine-daemon (missing, not executable):
     * 127 as env(1) and the shells answer for a command they cannot run. */
    CLAW_EXIT_NO_DAEMON = 127,
    CLAW_EXIT_INTERRUPTED = 130,
};

/* "clawengine: MESSAGE" and the pointer to --help (of `clawengine COMMAND` when
 * command is not NULL) on stderr; returns CLAW_EXIT_USAGE. */
int claw_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
