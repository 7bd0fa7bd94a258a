/* Notifications: a target is a URL (smtp://, smtps://, a webhook, ntfy://, gotify://,
 * slack://, discord://, generic+https://, the shoutrrr forms Watchtower users have),
 * parsed once into a claw_notify_target, then sent a message: an RFC 5322 mail over
 * SMTP, or a JSON POST. Secrets (passwords, tokens) never appear in a message or a
 * log line: `display` is the URL with them masked, and claw_notify_mask() masks those
 * of every URL in a text. */
#ifndef CLAW_NOTIFY_H
#define CLAW_NOTIFY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#include "cancel.h"
#include "err.h"

typedef enum {
    CLAW_NOTIFY_EMAIL,
    CLAW_NOTIFY_GENERIC, /* {"title":, "message":, "fields":} */
    CLAW_NOTIFY_SLACK,   /* {"text":} */
    CLAW_NOTIFY_DISCORD, /* {"content":} */
    CLAW_NOTIFY_NTFY,    /* {"topic":, "title":, "message":} to the server's root */
    CLAW_NOTIFY_GOTIFY,  /* {"title":, "message":} to /message with X-Gotify-Key */
} claw_notify_kind;

typedef enum {
    CLAW_NOTIFY_TLS_NONE,     /* starttls=no (or shoutrrr's encryption=None) */
    CLAW_NOTIFY_TLS_AUTO,     /* STARTTLS when the server offers it */
    CLAW_NOTIFY_TLS_STARTTLS, /* STARTTLS or fail */
    CLAW_NOTIFY_TLS_IMPLICIT, /* smtps:// */
} claw_notify_tls;

typedef struct claw_notify_target {
    claw_notify_kind kind;
    char *scheme;   /* as written, lowercased: "smtp", "generic+https", ... */
    char *display;  /* the URL as written, with every secret masked */
    char *endpoint; /* what is connected to: smtp[s]://host:port/ or the URL posted to */
    char *endpoint_shown; /* the same, masked */
    char *user, *password; /* SMTP login or HTTP basic auth; NULL when none */
    char *token;           /* Gotify key, or a bearer token; NULL when none */
    char *password_file, *token_file; /* where a secret was read from, or NULL */
    char *cacert; /* cacert=/path: the CA bundle to verify the server with */
    /* email */
    char *from, *from_name, *default_subject;
    char **to;
    size_t nto;
    claw_notify_tls tls;
    /* webhooks */
    cJSON *extra;   /* object merged into the JSON body (ntfy tags, Slack channel, ...) */
    cJSON *headers; /* array of "Name: value" request headers */
    char *title_key, *message_key; /* generic: the body's keys */
    char *method;                  /* generic: POST or PUT */
} claw_notify_target;

/* Parses a target URL. On failure (code invalid) the message names the URL with its
 * password masked. Secret files (password_file=, token_file=, `@/path` as the
 * password) are read here. The target is freed with claw_notify_target_free, also
 * after a failure. */
int claw_notify_parse(const char *url, claw_notify_target *t, claw_err *err);
void claw_notify_target_free(claw_notify_target *t);

/* What the target is, secrets shown as "***": kind, scheme, url, endpoint, host,
 * port, from, to, tls, ... (for dry runs and docs). */
cJSON *claw_notify_describe(const claw_notify_target *t);

/* Copies text into out (size > 0, always NUL-terminated, cut short when too long)
 * with the secrets of every URL in it replaced by "***": the password of
 * "scheme://user:password@", secret-looking query values (token=, apikey=, ...) and
 * the tokens of Discord, Gotify and Slack URLs. */
void claw_notify_mask(const char *text, char *out, size_t size);

typedef struct claw_notify_msg {
    const char *subject; /* NULL or "" for none */
    const char *text;    /* NULL or "" for none */
    const cJSON *fields; /* an object of extra facts, or NULL */
} claw_notify_msg;

/* The mail as sent: RFC 5322 headers (Date in UTC from `now`, Message-ID
 * <id@from-domain>, Subject encoded per RFC 2047 when not ASCII) and a text/plain
 * UTF-8 8bit body with CRLF line ends. NULL when out of memory. */
char *claw_notify_email(const claw_notify_target *t, const claw_notify_msg *m, time_t now,
                        const char *id);

/* The JSON body a webhook target is sent. NULL when out of memory. */
char *claw_notify_body(const claw_notify_target *t, const claw_notify_msg *m);

/* The text of a message in one piece: subject, a blank line, text, and the fields as
 * "key: value" lines (sorted). Owned by the caller. */
char *claw_notify_plain(const claw_notify_msg *m, int with_subject);

/* Sends the message. timeout bounds the whole transfer (seconds; 0 means 30).
 * Codes: invalid, unreachable, timeout, refused (the mail server said no; status is
 * its reply code), http (status holds a non-2xx HTTP status, or 0 for a transfer or
 * TLS failure), interrupted. */
int claw_notify_send(const claw_notify_target *t, const claw_notify_msg *m,
                     const claw_cancel *cancel, double timeout, claw_err *err);

#endif
