/* Structured log lines: human lines on stderr, and with --json one JSON object a
 * line on stdout. Values of fields whose names look secret are masked. */
#ifndef CLAW_LOG_H
#define CLAW_LOG_H

#include <cjson/cJSON.h>
#include <stdio.h>

typedef enum { CLAW_LOG_DEBUG, CLAW_LOG_INFO, CLAW_LOG_WARN, CLAW_LOG_ERROR } claw_level;

typedef struct claw_log {
    claw_level level; /* lines below it are dropped */
    int json;         /* also write JSON lines to `out` */
    FILE *human, *out;
    int tty;          /* `human` is a terminal: short time stamps */
} claw_log;

void claw_log_init(claw_log *l, FILE *human, FILE *out);
/* "debug", "info", "warn"/"warning", "error"; -1 for anything else. */
int claw_log_level_parse(const char *s);
const char *claw_log_level_name(claw_level lv);
int claw_log_is_secret(const char *key);
/* fields may be NULL; it is not modified. */
void claw_log_emit(const claw_log *l, claw_level lv, const char *msg, const cJSON *fields);
void claw_log_printf(const claw_log *l, claw_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
