/* Notification targets without a network: every URL form (ours and shoutrrr's),
 * secrets read from files, masking of passwords and tokens in every text shown,
 * the exact mail (headers and body) and the exact JSON bodies. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "notify.h"

static claw_notify_target T;
static claw_err E;

/* Parses url into T (freed first); returns 0 or -1. */
static int parse(const char *url)
{
    claw_notify_target_free(&T);
    memset(&E, 0, sizeof E);
    return claw_notify_parse(url, &T, &E);
}

/* The JSON text of describe(T). */
static const char *desc(void)
{
    static char out[4096];
    cJSON *d = claw_notify_describe(&T);
    char *s = cJSON_PrintUnformatted(d);
    snprintf(out, sizeof out, "%s", s);
    free(s);
    cJSON_Delete(d);
    return out;
}

static const char *header(int i)
{
    const cJSON *h = cJSON_GetArrayItem(T.headers, i);
    return h ? h->valuestring : "(none)";
}

static void email_forms(void)
{
    CHECK_INT(parse("smtp://mail.example.com/?from=claw@example.com&to=ops@example.com"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_EMAIL);
    CHECK_STR(T.endpoint, "smtp://mail.example.com:25/");
    CHECK_INT(T.tls, CLAW_NOTIFY_TLS_AUTO);
    CHECK_STR(T.from, "claw@example.com");
    CHECK_INT(T.nto, 1);
    CHECK_STR(T.to[0], "ops@example.com");
    CHECK(T.user == NULL && T.password == NULL);

    /* shoutrrr's form, as Watchtower users have it */
    CHECK_INT(parse("smtp://bob:s%40cret@smtp.example.com:587/?from=wt@example.com"
                    "&to=a@example.com,b+tag@example.com&fromname=Watch%20Tower&subject=Updates"),
              0);
    CHECK_STR(T.endpoint, "smtp://smtp.example.com:587/");
    CHECK_STR(T.user, "bob");
    CHECK_STR(T.password, "s@cret");
    CHECK_INT(T.nto, 2);
    CHECK_STR(T.to[1], "b+tag@example.com");
    CHECK_STR(T.from_name, "Watch Tower");
    CHECK_STR(T.default_subject, "Updates");
    CHECK_STR(T.display, "smtp://bob:***@smtp.example.com:587/?from=wt@example.com"
                         "&to=a@example.com,b+tag@example.com&fromname=Watch%20Tower&subject=Updates");
    CHECK_STR(desc(), "{\"kind\":\"email\",\"scheme\":\"smtp\",\"url\":\"smtp://bob:***@smtp.example.com:587/"
                      "?from=wt@example.com&to=a@example.com,b+tag@example.com&fromname=Watch%20Tower&subject=Updates\","
                      "\"endpoint\":\"smtp://smtp.example.com:587/\",\"user\":\"bob\",\"password\":\"***\","
                      "\"subject\":\"Updates\",\"from\":\"wt@example.com\",\"from_name\":\"Watch Tower\","
                      "\"to\":[\"a@example.com\",\"b+tag@example.com\"],\"tls\":\"auto\"}");

    /* starttls= and shoutrrr's encryption=, usestarttls=, requirestarttls= */
    static const struct { const char *q; int tls; } tls[] = {
        { "starttls=yes", CLAW_NOTIFY_TLS_STARTTLS }, { "starttls=no", CLAW_NOTIFY_TLS_NONE },
        { "starttls=auto", CLAW_NOTIFY_TLS_AUTO },    { "usestarttls=No", CLAW_NOTIFY_TLS_NONE },
        { "usestarttls=Yes", CLAW_NOTIFY_TLS_AUTO },  { "requirestarttls=Yes", CLAW_NOTIFY_TLS_STARTTLS },
        { "encryption=None", CLAW_NOTIFY_TLS_NONE },  { "encryption=ExplicitTLS", CLAW_NOTIFY_TLS_STARTTLS },
        { "encryption=ImplicitTLS", CLAW_NOTIFY_TLS_IMPLICIT }, { "encryption=Auto", CLAW_NOTIFY_TLS_AUTO },
    };
    for (size_t i = 0; i < sizeof tls / sizeof *tls; i++) {
        char url[256];
        snprintf(url, sizeof url, "smtp://h/?from=a@b&to=c@d&%s", tls[i].q);
        CHECK_INT(parse(url), 0);
        CHECK_INT(T.tls, tls[i].tls);
    }
    CHECK_INT(parse("smtp://h:465/?from=a@b&to=c@d&encryption=Auto"), 0);
    CHECK_INT(T.tls, CLAW_NOTIFY_TLS_IMPLICIT);
    CHECK_STR(T.endpoint, "smtps://h:465/");
    CHECK_INT(parse("smtp://h/?from=a@b&to=c@d&encryption=ImplicitTLS"), 0);
    CHECK_STR(T.endpoint, "smtps://h:465/");
    CHECK_INT(parse("smtps://u:p@h/?fromaddress=a@b&toaddresses=c@d&clienthost=claw.example.com"
                    "&auth=Plain&usehtml=No"), 0);
    CHECK_INT(T.tls, CLAW_NOTIFY_TLS_IMPLICIT);
    CHECK_STR(T.endpoint, "smtps://h:465/claw.example.com");
    CHECK_INT(parse("smtp://u:p@h/?from=a@b&to=c@d&auth=None"), 0);
    CHECK(T.user == NULL && T.password == NULL);
    CHECK_INT(parse("smtp://u:tok@h/?from=a@b&to=c@d&auth=OAuth2"), 0);
    CHECK_STR(T.token, "tok");
    CHECK(T.password == NULL);
    CHECK_INT(parse("smtp://[::1]:2525/?from=a@b&to=c@d&to=e@f"), 0);
    CHECK_STR(T.endpoint, "smtp://[::1]:2525/");
    CHECK_INT(T.nto, 2);

    /* what is wrong is said, with the password masked */
    CHECK_INT(parse("smtp://u:hunter2@h/?to=c@d"), -1);
    CHECK_STR(E.code, CLAW_E_INVALID);
    CHECK_STR(E.message, "notification URL smtp://u:***@h/?to=c@d: no sender (want from=address)");
    CHECK_INT(parse("smtp://h/?from=a@b"), -1);
    CHECK_STR(E.message, "notification URL smtp://h/?from=a@b: no recipient (want to=address[,address...])");
    CHECK_INT(parse("smtp://h/?from=a@b&to=c@d,nobody"), -1);
    CHECK_STR(E.message, "notification URL smtp://h/?from=a@b&to=c@d,nobody: invalid recipient \"nobody\"");
    CHECK_INT(parse("smtp://h/?from=a@b&to=c@d&tls=1"), -1);
    CHECK_STR(E.message, "notification URL smtp://h/?from=a@b&to=c@d&tls=1: unknown parameter \"tls\"");
    CHECK_INT(parse("smtp://h/?from=a@b&to=c@d&starttls=maybe"), -1);
    CHECK_STR(E.message, "notification URL smtp://h/?from=a@b&to=c@d&starttls=maybe: starttls=maybe (want yes, no or auto)");
    CHECK_INT(parse("smtps://h/?from=a@b&to=c@d&starttls=yes"), -1);
    CHECK_STR(E.message, "notification URL smtps://h/?from=a@b&to=c@d&starttls=yes: starttls= does not apply to implicit TLS (smtps://)");
    CHECK_INT(parse("smtp://u:p@h:99999/?from=a@b&to=c@d"), -1);
    CHECK_STR(E.message, "notification URL smtp://u:***@h:99999/?from=a@b&to=c@d: invalid port \"99999\"");
    CHECK_INT(parse("smtp:///?from=a@b&to=c@d"), -1);
    CHECK_STR(E.message, "notification URL smtp:///?from=a@b&to=c@d: no mail server host");
    CHECK_INT(parse("smtp://h/?from=a@b&to=c@d&usehtml=yes"), -1);
    CHECK_STR(E.message, "notification URL smtp://h/?from=a@b&to=c@d&usehtml=yes: usehtml=yes: only plain text mail is sent");
}

static void webhook_forms(void)
{
    CHECK_INT(parse("https://hooks.example.com/claw?x=1"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_GENERIC);
    CHECK_STR(T.endpoint, "https://hooks.example.com/claw?x=1");
    CHECK_INT(cJSON_GetArraySize(T.headers), 0);
    CHECK_INT(parse("http://u:pw@127.0.0.1:8080/hook?format=generic&api_key=k1"), 0);
    CHECK_STR(T.endpoint, "http://127.0.0.1:8080/hook?api_key=k1");
    CHECK_STR(T.endpoint_shown, "http://127.0.0.1:8080/hook?api_key=***");
    CHECK_STR(T.display, "http://u:***@127.0.0.1:8080/hook?format=generic&api_key=***");
    CHECK_STR(header(0), "Authorization: Basic dTpwdw==");
    CHECK_STR(desc(), "{\"kind\":\"generic\",\"scheme\":\"http\",\"url\":\"http://u:***@127.0.0.1:8080/hook?format=generic&api_key=***\","
                      "\"endpoint\":\"http://127.0.0.1:8080/hook?api_key=***\",\"user\":\"u\",\"password\":\"***\","
                      "\"method\":\"POST\",\"headers\":[\"Authorization: ***\"]}");

    /* shoutrrr generic */
    CHECK_INT(parse("generic+https://example.com/api/v1/post?template=json&titlekey=subject"
                    "&messagekey=body&@X-Source=claw&$env=prod&channel=7"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_GENERIC);
    CHECK_STR(T.endpoint, "https://example.com/api/v1/post?channel=7");
    CHECK_STR(T.title_key, "subject");
    CHECK_STR(T.message_key, "body");
    CHECK_STR(header(0), "X-Source: claw");
    CHECK_INT(parse("generic://example.com/hook?disabletls=yes&requestmethod=PUT"), 0);
    CHECK_STR(T.endpoint, "http://example.com/hook");
    CHECK_STR(T.method, "PUT");
    CHECK_INT(parse("generic+http://example.com:8000"), 0);
    CHECK_STR(T.endpoint, "http://example.com:8000/");
    CHECK_INT(parse("generic://example.com/hook?template=slack"), -1);
    CHECK_STR(E.message, "notification URL generic://example.com/hook?template=slack: template=slack (only json is supported)");

    /* ntfy */
    CHECK_INT(parse("ntfy://ntfy.sh/claw-updates"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_NTFY);
    CHECK_STR(T.endpoint, "https://ntfy.sh/");
    CHECK_INT(parse("ntfy://:tk_secret@ntfy.example.com:8443/sub/alerts?priority=high&tags=whale,up&scheme=http&title=Claw"), 0);
    CHECK_STR(T.endpoint, "http://ntfy.example.com:8443/sub/");
    CHECK_STR(T.display, "ntfy://:***@ntfy.example.com:8443/sub/alerts?priority=high&tags=whale,up&scheme=http&title=Claw");
    CHECK_STR(header(0), "Authorization: Basic OnRrX3NlY3JldA==");
    CHECK_STR(desc(), "{\"kind\":\"ntfy\",\"scheme\":\"ntfy\",\"url\":\"ntfy://:***@ntfy.example.com:8443/sub/alerts"
                      "?priority=high&tags=whale,up&scheme=http&title=Claw\",\"endpoint\":\"http://ntfy.example.com:8443/sub/\","
                      "\"password\":\"***\",\"subject\":\"Claw\",\"method\":\"POST\",\"headers\":[\"Authorization: ***\"],"
                      "\"options\":{\"topic\":\"alerts\",\"priority\":4,\"tags\":[\"whale\",\"up\"]}}");
    CHECK_INT(parse("https://ntfy.example.com/alerts?format=ntfy&priority=5&since=1"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_NTFY);
    CHECK_STR(T.endpoint, "https://ntfy.example.com/?since=1");
    CHECK_INT(parse("ntfy://ntfy.sh/"), -1);
    CHECK_STR(E.message, "notification URL ntfy://ntfy.sh/: no topic (want ntfy://host/topic)");
    CHECK_INT(parse("ntfy://ntfy.sh/t?priority=loud"), -1);
    CHECK_STR(E.message, "notification URL ntfy://ntfy.sh/t?priority=loud: priority=loud (want 1-5 or min, low, default, high, max)");

    /* gotify: the token goes in a header, never in a URL that is shown */
    CHECK_INT(parse("gotify://gotify.example.com/AbCdEf123?priority=8&title=Claw"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_GOTIFY);
    CHECK_STR(T.endpoint, "https://gotify.example.com/message");
    CHECK_STR(T.display, "gotify://gotify.example.com/***?priority=8&title=Claw");
    CHECK_STR(header(0), "X-Gotify-Key: AbCdEf123");
    CHECK_STR(desc(), "{\"kind\":\"gotify\",\"scheme\":\"gotify\",\"url\":\"gotify://gotify.example.com/***?priority=8&title=Claw\","
                      "\"endpoint\":\"https://gotify.example.com/message\",\"token\":\"***\",\"subject\":\"Claw\","
                      "\"method\":\"POST\",\"headers\":[\"X-Gotify-Key: ***\"],\"options\":{\"priority\":8}}");
    CHECK_INT(parse("gotify://gotify.example.com:8080/sub/path/AbC?disabletls=yes"), 0);
    CHECK_STR(T.endpoint, "http://gotify.example.com:8080/sub/path/message");
    CHECK_INT(parse("gotify://gotify.example.com"), -1);
    CHECK_STR(E.message, "notification URL gotify://gotify.example.com: no application token (want gotify://host/token)");

    /* Slack */
    static const char *const slack[] = {
        "slack://hooks.slack.com/services/T000/B000/XXXX",
        "slack://T000/B000/XXXX",
        "slack://hook:T000-B000-XXXX@webhook",
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://hooks.slack.com/services/T000/B000/XXXX?format=slack",
    };
    for (size_t i = 0; i < sizeof slack / sizeof *slack; i++) {
        CHECK_INT(parse(slack[i]), 0);
        CHECK_INT(T.kind, CLAW_NOTIFY_SLACK);
        CHECK_STR(T.endpoint, "https://hooks.slack.com/services/T000/B000/XXXX");
        CHECK_STR(T.endpoint_shown, "https://hooks.slack.com/services/T000/B000/***");
        CHECK(strstr(T.display, "XXXX") == NULL);
        CHECK(strstr(desc(), "XXXX") == NULL);
    }
    CHECK_INT(parse("slack://T000/B000/XXXX"), 0);
    CHECK_STR(T.display, "slack://T000/B000/***");
    CHECK_INT(parse("slack://hook:T000-B000-XXXX@webhook?channel=%23ops"), 0);
    CHECK_STR(T.display, "slack://hook:***@webhook?channel=%23ops");
    CHECK_INT(parse("slack://clawbot@T000/B000/XXXX?icon=:whale:"), 0);
    CHECK_STR(desc(), "{\"kind\":\"slack\",\"scheme\":\"slack\",\"url\":\"slack://clawbot@T000/B000/***?icon=:whale:\","
                      "\"endpoint\":\"https://hooks.slack.com/services/T000/B000/***\",\"method\":\"POST\",\"headers\":[],"
                      "\"options\":{\"username\":\"clawbot\",\"icon_emoji\":\":whale:\"}}");
    CHECK_INT(parse("https://chat.example.com/hooks/abc?format=slack"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_SLACK);
    CHECK_STR(T.endpoint, "https://chat.example.com/hooks/abc");
    CHECK_INT(parse("slack://xoxb:123-456@C0123"), -1);
    CHECK_STR(E.message, "notification URL slack://xoxb:***@C0123: Slack API tokens are not supported (use a webhook URL)");
    CHECK_INT(parse("slack://T000/B000"), -1);
    CHECK_STR(E.message, "notification URL slack://T000/***: not a Slack webhook (want slack://hooks.slack.com/services/A/B/C or slack://A/B/C)");

    /* Discord */
    CHECK_INT(parse("discord://s3cr3t-Tok_en@123456789?username=claw&thread_id=42"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_DISCORD);
    CHECK_STR(T.endpoint, "https://discord.com/api/webhooks/123456789/s3cr3t-Tok_en?thread_id=42");
    CHECK_STR(T.endpoint_shown, "https://discord.com/api/webhooks/123456789/***?thread_id=42");
    CHECK_STR(T.display, "discord://***@123456789?username=claw&thread_id=42");
    CHECK(strstr(desc(), "s3cr3t") == NULL);
    CHECK_INT(parse("https://discord.com/api/webhooks/123/tok"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_DISCORD);
    CHECK_STR(T.display, "https://discord.com/api/webhooks/123/***");
    CHECK_INT(parse("http://127.0.0.1:9/x/y?format=discord"), 0);
    CHECK_INT(T.kind, CLAW_NOTIFY_DISCORD);
    CHECK_STR(T.endpoint, "http://127.0.0.1:9/x/y");
    CHECK_INT(parse("discord://tok@webhook"), -1);
    CHECK_STR(E.message, "notification URL discord://***@webhook: the webhook id must be a number (want discord://token@id)");

    /* unknown schemes and non-URLs */
    CHECK_INT(parse("telegram://u:p4ss@api.telegram.org/bot?chats=1"), -1);
    CHECK_STR(E.code, CLAW_E_INVALID);
    CHECK_STR(E.message, "unknown notification scheme \"telegram\" in telegram://u:***@api.telegram.org/bot?chats=1 "
                         "(want smtp, smtps, http, https, ntfy, gotify, slack, discord, generic, generic+https or generic+http)");
    CHECK_INT(parse("mail.example.com"), -1);
    CHECK_STR(E.message, "notification URL mail.example.com: not a URL (want scheme://...)");
    CHECK_INT(parse("https://example.com/a b"), -1);
    CHECK_STR(E.message, "notification URL https://example.com/a b: spaces or control characters");
    CHECK_INT(parse("https://example.com/?format=teams"), -1);
    CHECK_STR(E.message, "notification URL https://example.com/?format=teams: format=teams (want generic, slack, discord, ntfy or gotify)");
}

static void secret_files(void)
{
    const char *tmp = getenv("CLAW_TEST_TMP");
    char dir[256], pw[300], tok[300], url[1400];
    snprintf(dir, sizeof dir, "%s/notify-unit-%d", tmp ? tmp : "/tmp", (int)getpid());
    mkdir(tmp ? tmp : "/tmp", 0700);
    CHECK_INT(mkdir(dir, 0700), 0);
    snprintf(pw, sizeof pw, "%s/smtp_password", dir);
    snprintf(tok, sizeof tok, "%s/token", dir);
    FILE *f = fopen(pw, "w");
    fputs("from-file\n", f);
    fclose(f);
    f = fopen(tok, "w");
    fputs("TokenFromFile\r\n", f);
    fclose(f);

    snprintf(url, sizeof url, "smtp://bob@h/?from=a@b&to=c@d&password_file=%s", pw);
    CHECK_INT(parse(url), 0);
    CHECK_STR(T.password, "from-file");
    CHECK_STR(T.password_file, pw);
    CHECK(strstr(desc(), "\"password\":\"***\"") != NULL);
    CHECK(strstr(desc(), "from-file") == NULL);

    snprintf(url, sizeof url, "smtp://bob:@%s@mail.example.com:587/?from=a@b&to=c@d", pw);
    CHECK_INT(parse(url), 0);
    CHECK_STR(T.password, "from-file");
    CHECK_STR(T.endpoint, "smtp://mail.example.com:587/");
    CHECK_STR(T.display, "smtp://bob:***@mail.example.com:587/?from=a@b&to=c@d");

    snprintf(url, sizeof url, "gotify://gotify.example.com/?token_file=%s", tok);
    CHECK_INT(parse(url), 0);
    CHECK_STR(T.token, "TokenFromFile");
    CHECK_STR(header(0), "X-Gotify-Key: TokenFromFile");
    CHECK_STR(T.endpoint, "https://gotify.example.com/message");
    snprintf(url, sizeof url, "discord://123?token_file=%s", tok);
    CHECK_INT(parse(url), 0);
    CHECK_STR(T.endpoint, "https://discord.com/api/webhooks/123/TokenFromFile");
    snprintf(url, sizeof url, "ntfy://ntfy.sh/t?token_file=%s", tok);
    CHECK_INT(parse(url), 0);
    CHECK_STR(header(0), "Authorization: Bearer TokenFromFile");

    snprintf(url, sizeof url, "smtp://h/?from=a@b&to=c@d&password_file=%s/missing", dir);
    CHECK_INT(parse(url), -1);
    char want[4096];
    snprintf(want, sizeof want, "notification URL %s: cannot read password_file %s/missing: No such file or directory", url, dir);
    CHECK_STR(E.message, want);
    snprintf(url, sizeof url, "smtp://u:p@h/?from=a@b&to=c@d&password_file=%s", pw);
    CHECK_INT(parse(url), -1);
    snprintf(want, sizeof want, "notification URL smtp://u:***@h/?from=a@b&to=c@d&password_file=%s: both a password and password_file", pw);
    CHECK_STR(E.message, want);
    unlink(pw);
    unlink(tok);
    rmdir(dir);
}

static const char *mask(const char *s)
{
    static char out[512];
    claw_notify_mask(s, out, sizeof out);
    return out;
}

static void masking(void)
{
    CHECK_STR(mask("no URL here"), "no URL here");
    CHECK_STR(mask("smtp://bob:hunter2@mail:587/?from=a@b"), "smtp://bob:***@mail:587/?from=a@b");
    CHECK_STR(mask("send to \"https://u:p@h/x\" and smtps://:tok@h2 failed"),
              "send to \"https://u:***@h/x\" and smtps://:***@h2 failed");
    CHECK_STR(mask("smtp://bob@mail/?to=c@d"), "smtp://bob@mail/?to=c@d");
    CHECK_STR(mask("smtp://bob:@/run/secrets/pw@mail/?to=c@d"), "smtp://bob:***@mail/?to=c@d");
    CHECK_STR(mask("a://b:c@d e://f:g@h"), "a://b:***@d e://f:***@h");
    CHECK_STR(mask("http://h/path?x=a:b@c"), "http://h/path?x=a:b@c");
    /* a '/' left unencoded in a password is still masked; '@' in paths is no password */
    CHECK_STR(mask("smtp://u:pa/ss@host:25/?from=a@b"), "smtp://u:***@host:25/?from=a@b");
    CHECK_STR(mask("https://host:8443/x@y and ntfy://host/topic@x"), "https://host:8443/x@y and ntfy://host/topic@x");
    CHECK_STR(mask("https://u:p@host/a@b"), "https://u:***@host/a@b");
    CHECK_INT(parse("smtp://u:pa/ss@host:25/?from=a@b&to=c@d"), 0);
    CHECK_STR(T.password, "pa/ss");
    CHECK_STR(T.endpoint, "smtp://host:25/");
    CHECK_STR(T.display, "smtp://u:***@host:25/?from=a@b&to=c@d");
    /* tokens of services are masked too, wherever the URL is in the text */
    CHECK_STR(mask("gotify: gotify://h/AppTok?priority=1, discord://Tok@123 and slack://T/B/Sec."),
              "gotify: gotify://h/***?priority=1, discord://***@123 and slack://T/B/***.");
    CHECK_STR(mask("(https://hooks.slack.com/services/T/B/Sec) https://h/x?token=abc: failed"),
              "(https://hooks.slack.com/services/T/B/***) https://h/x?token=***: failed");
    CHECK_STR(mask("https://h/x?a=1#frag"), "https://h/x?a=1#frag");
    char small[12];
    claw_notify_mask("smtp://u:secret@h", small, sizeof small);
    CHECK_STR(small, "smtp://u:**");
}

static void email_message(void)
{
    CHECK_INT(parse("smtp://h/?from=claw@example.com&to=ops@example.com,dev@example.org"), 0);
    cJSON *fields = cJSON_Parse("{\"host\":\"gw1\",\"count\":2,\"containers\":[\"a\",\"b\"]}");
    claw_notify_msg m = { "1 update available", "web: 1.0 -> 1.1\n.\nend\n", fields };
    char *mail = claw_notify_email(&T, &m, 1795695347, "1795695347.0011223344556677.clawengine");
    CHECK_STR(mail, "Date: Thu, 26 Nov 2026 12:15:47 +0000\r\n"
                    "Message-ID: <1795695347.0011223344556677.clawengine@example.com>\r\n"
                    "Subject: 1 update available\r\n"
                    "From: claw@example.com\r\n"
                    "To: ops@example.com, dev@example.org\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n"
                    "\r\n"
                    "web: 1.0 -> 1.1\r\n"
                    ".\r\n"
                    "end\r\n"
                    "\r\n"
                    "containers: [\"a\",\"b\"]\r\n"
                    "count: 2\r\n"
                    "host: gw1\r\n");
    free(mail);
    cJSON_Delete(fields);

    /* a UTF-8 subject is RFC 2047 encoded, a header cannot be injected, a display
     * name is quoted, the default subject comes from subject= */
    CHECK_INT(parse("smtp://h/?from=claw@example.com&to=ops@example.com&fromname=Claw,%20Inc.&subject=Default"), 0);
    claw_notify_msg u = { "Mise à jour\r\nBcc: evil@example.com", "Ça marche", NULL };
    mail = claw_notify_email(&T, &u, 0, "x");
    CHECK_STR(mail, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
                    "Message-ID: <x@example.com>\r\n"
                    "Subject: =?utf-8?B?TWlzZSDDoCBqb3VyICBCY2M6IGV2aWxAZXhhbXBsZS5jb20=?=\r\n"
                    "From: \"Claw, Inc.\" <claw@example.com>\r\n"
                    "To: ops@example.com\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n"
                    "\r\n"
                    "Ça marche\r\n");
    free(mail);
    claw_notify_msg nosubj = { NULL, "x", NULL };
    mail = claw_notify_email(&T, &nosubj, 0, "x");
    CHECK(strstr(mail, "\r\nSubject: Default\r\n") != NULL);
    free(mail);

    /* long subjects fold at spaces; long UTF-8 ones split between characters */
    CHECK_INT(parse("smtp://h/?from=a@example.com&to=b@example.com"), 0);
    claw_notify_msg longm = { "three updates available on gateway-host-01: openclaw-gateway, "
                              "postgres and redis-cache", "", NULL };
    mail = claw_notify_email(&T, &longm, 0, "x");
    CHECK(strstr(mail, "Subject: three updates available on gateway-host-01: openclaw-gateway,\r\n"
                       " postgres and redis-cache\r\n") != NULL);
    CHECK(strstr(mail, "\r\nSubject: clawengine") == NULL);
    free(mail);
    claw_notify_msg utf = { "ééééééééééééééééééééééééé", "", NULL }; /* 25 × 2 bytes */
    mail = claw_notify_email(&T, &utf, 0, "x");
    CHECK(strstr(mail, "Subject: =?utf-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\r\n"
                       " =?utf-8?B?w6nDqcOp?=\r\n") != NULL); /* 22 + 3 characters */
    free(mail);
    claw_notify_msg empty = { "", "", NULL };
    mail = claw_notify_email(&T, &empty, 0, "x");
    CHECK(strstr(mail, "Subject: clawengine notification\r\n") != NULL);
    CHECK_STR(strstr(mail, "8bit"), "8bit\r\n\r\n"); /* an empty body */
    free(mail);
}

static void json_bodies(void)
{
    cJSON *fields = cJSON_Parse("{\"container\":\"web\",\"ok\":true}");
    claw_notify_msg m = { "web updated", "web: 1.0 -> 1.1\n", fields };
    struct { const char *url, *body; } cases[] = {
        { "https://h/x", "{\"title\":\"web updated\",\"message\":\"web: 1.0 -> 1.1\\n\",\"fields\":{\"container\":\"web\",\"ok\":true}}" },
        { "generic://h/x?titlekey=t&messagekey=m&$env=prod", "{\"t\":\"web updated\",\"m\":\"web: 1.0 -> 1.1\\n\",\"fields\":{\"container\":\"web\",\"ok\":true},\"env\":\"prod\"}" },
        { "slack://T/B/C?channel=%23ops", "{\"text\":\"web updated\\n\\nweb: 1.0 -> 1.1\\n\\ncontainer: web\\nok: true\",\"channel\":\"#ops\"}" },
        { "discord://tok@1?username=claw", "{\"content\":\"web updated\\n\\nweb: 1.0 -> 1.1\\n\\ncontainer: web\\nok: true\",\"username\":\"claw\"}" },
        { "ntfy://ntfy.sh/claw?priority=high&tags=up", "{\"title\":\"web updated\",\"message\":\"web: 1.0 -> 1.1\\n\\ncontainer: web\\nok: true\",\"topic\":\"claw\",\"priority\":4,\"tags\":[\"up\"]}" },
        { "gotify://h/tok?priority=3", "{\"title\":\"web updated\",\"message\":\"web: 1.0 -> 1.1\\n\\ncontainer: web\\nok: true\",\"priority\":3}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK_INT(parse(cases[i].url), 0);
        char *body = claw_notify_body(&T, &m);
        CHECK_STR(body, cases[i].body);
        free(body);
    }
    cJSON_Delete(fields);

    /* Discord takes 2000 characters */
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = 0;
    claw_notify_msg bm = { NULL, big, NULL };
    CHECK_INT(parse("discord://tok@1"), 0);
    char *body = claw_notify_body(&T, &bm);
    cJSON *o = cJSON_Parse(body);
    const char *content = cJSON_GetObjectItem(o, "content")->valuestring;
    CHECK_INT(strlen(content), 1999 + 3);
    CHECK_STR(content + 1999, "\xe2\x80\xa6");
    cJSON_Delete(o);
    free(body);
    free(big);

    /* with no subject given, the title= of the URL is used */
    claw_notify_msg ns = { NULL, "text", NULL };
    CHECK_INT(parse("gotify://h/tok?title=Claw"), 0);
    body = claw_notify_body(&T, &ns);
    CHECK_STR(body, "{\"title\":\"Claw\",\"message\":\"text\"}");
    free(body);
}

static void sending_fails_fast(void)
{
    /* nothing listens on port 1 of the loopback: refused at once */
    claw_notify_msg m = { "s", "t", NULL };
    CHECK_INT(parse("smtp://u:pw@127.0.0.1:1/?from=a@b&to=c@d"), 0);
    CHECK_INT(claw_notify_send(&T, &m, NULL, 5, &E), -1);
    CHECK_STR(E.code, CLAW_E_UNREACHABLE);
    const char *want = "smtp://u:***@127.0.0.1:1/?from=a@b&to=c@d: cannot connect: "
                       "Failed to connect to 127.0.0.1 port 1 after ";
    CHECK_INT(strncmp(E.message, want, strlen(want)), 0);
    CHECK(strstr(E.message, " ms: Couldn't connect to server") != NULL);
    CHECK_INT(parse("discord://tok@1"), 0);
    free(T.endpoint);
    T.endpoint = strdup("http://127.0.0.1:1/api/webhooks/1/tok");
    free(T.endpoint_shown);
    T.endpoint_shown = strdup("http://127.0.0.1:1/api/webhooks/1/***");
    CHECK_INT(claw_notify_send(&T, &m, NULL, 5, &E), -1);
    CHECK_STR(E.code, CLAW_E_UNREACHABLE);
    CHECK(strstr(E.message, "tok") == NULL);
}

int main(void)
{
    email_forms();
    webhook_forms();
    secret_files();
    masking();
    email_message();
    json_bodies();
    sending_fails_fast();
    claw_notify_target_free(&T);
    return check_done();
}
