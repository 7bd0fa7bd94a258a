/* The daemon's admin protocol parser: the fields of valid commands, and the exact
 * error of malformed ones (tests/fuzz/fuzz_admin.c fuzzes the same function). */
#include <stdlib.h>

#include "admin.h"
#include "check.h"

static int parse(const char *line, claw_admin_req *r, claw_err *e)
{
    return claw_admin_parse(line, strlen(line), r, e);
}

/* line must be refused with this code and message, and leave nothing to free. */
static void bad_n(const char *line, size_t len, const char *code, const char *message)
{
    claw_admin_req r;
    claw_err e = { 0 };
    int rc = claw_admin_parse(line, len, &r, &e);
    CHECK_INT(rc, -1);
    CHECK_STR(e.code, code);
    CHECK_STR(e.message, message);
    if (rc == 0)
        claw_admin_req_free(&r);
    CHECK(r.weights == NULL && r.listen == NULL);
}

static void bad(const char *line, const char *code, const char *message)
{
    bad_n(line, strlen(line), code, message);
}

static void valid_commands(void)
{
    claw_admin_req r;
    claw_err e;

    CHECK_INT(parse("{\"op\":\"list\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_LIST);
    CHECK_STR(r.route, "");
    CHECK_INT(r.weight, -1);
    CHECK_INT(r.sticky, -1);
    CHECK(r.timeout == -1);
    CHECK(r.weights == NULL && r.listen == NULL);
    claw_admin_req_free(&r);

    /* handover and retire take no fields */
    CHECK_INT(parse("{\"op\":\"handover\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_HANDOVER);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"retire\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_RETIRE);
    claw_admin_req_free(&r);

    /* schedules takes no fields; a route given with it is ignored, as with list */
    CHECK_INT(parse("{\"op\":\"schedules\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_SCHEDULES);
    CHECK_STR(r.route, "");
    CHECK_STR(r.container, "");
    CHECK(r.weights == NULL && r.listen == NULL);
    claw_admin_req_free(&r);

    CHECK_INT(parse("{\"op\":\"create\",\"route\":\"gateway\",\"listen\":[\"0.0.0.0\",\"::\"],"
                    "\"port\":18789,\"container\":\"openclaw-gateway\",\"sticky\":true}",
                    &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_CREATE);
    CHECK_STR(r.route, "gateway");
    CHECK_STR(r.container, "openclaw-gateway");
    CHECK_INT(r.port, 18789);
    CHECK_INT(r.sticky, 1);
    CHECK_INT(cJSON_GetArraySize(r.listen), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(r.listen, 0)), "0.0.0.0");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(r.listen, 1)), "::");
    CHECK(r.weights == NULL);
    claw_admin_req_free(&r);
    CHECK(r.listen == NULL);

    CHECK_INT(parse("{\"op\":\"create\",\"route\":\"r\",\"listen\":[\"127.0.0.1\"],\"port\":1,"
                    "\"container\":\"c\"}", &r, &e), 0);
    CHECK_INT(r.port, 1);
    CHECK_INT(r.sticky, -1);
    claw_admin_req_free(&r);

    CHECK_INT(parse("{\"op\":\"delete\",\"route\":\"gateway\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_DELETE);
    CHECK_STR(r.route, "gateway");
    CHECK_STR(r.container, "");
    claw_admin_req_free(&r);

    CHECK_INT(parse("{\"op\":\"add\",\"route\":\"gateway\",\"container\":\"next_2.b-c\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_ADD);
    CHECK_STR(r.container, "next_2.b-c");
    CHECK_INT(r.weight, -1);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"add\",\"route\":\"g\",\"container\":\"c\",\"weight\":100}", &r, &e), 0);
    CHECK_INT(r.weight, 100);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"add\",\"route\":\"g\",\"container\":\"c\",\"weight\":0}", &r, &e), 0);
    CHECK_INT(r.weight, 0);
    claw_admin_req_free(&r);

    CHECK_INT(parse("{\"op\":\"weight\",\"route\":\"gateway\",\"weights\":{\"old\":90,\"new\":1e1},"
                    "\"sticky\":false}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_WEIGHT);
    CHECK_INT(r.sticky, 0);
    CHECK_INT(cJSON_GetObjectItem(r.weights, "old")->valueint, 90);
    CHECK_INT(cJSON_GetObjectItem(r.weights, "new")->valueint, 10);
    CHECK(r.listen == NULL);
    claw_admin_req_free(&r);
    CHECK(r.weights == NULL);

    CHECK_INT(parse("{\"op\":\"switch\",\"route\":\"gateway\",\"container\":\"next\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_SWITCH);
    CHECK_STR(r.container, "next");
    claw_admin_req_free(&r);

    CHECK_INT(parse(" { \"op\" : \"drain\", \"route\" : \"g\", \"container\" : \"old\","
                    " \"timeout\" : 2.5 } \r", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_DRAIN);
    CHECK_STR(r.container, "old");
    CHECK(r.timeout == 2.5);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"drain\",\"route\":\"g\",\"container\":\"old\"}", &r, &e), 0);
    CHECK(r.timeout == -1);
    claw_admin_req_free(&r);

    CHECK_INT(parse("{\"op\":\"remove\",\"route\":\"g\",\"container\":\"old\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_REMOVE);
    claw_admin_req_free(&r);

    CHECK_INT(parse("{\"op\":\"pause\",\"route\":\"g\",\"timeout\":20}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_PAUSE);
    CHECK(r.timeout == 20);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"resume\",\"route\":\"g\"}", &r, &e), 0);
    CHECK_INT(r.op, CLAW_ADMIN_RESUME);
    CHECK(r.timeout == -1);
    CHECK_INT(r.all, 0);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"resume\",\"route\":\"g\",\"all\":true}", &r, &e), 0);
    CHECK_INT(r.all, 1);
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"resume\",\"route\":\"g\",\"all\":1}", &r, &e), -1);
    CHECK_STR(e.message, "admin: \"all\" must be true or false");
    CHECK_INT(parse("{\"op\":\"pause\",\"route\":\"g\",\"holder\":\"run-1.journal\"}", &r, &e), 0);
    CHECK_STR(r.holder, "run-1.journal");
    claw_admin_req_free(&r);
    CHECK_INT(parse("{\"op\":\"resume\",\"route\":\"g\",\"holder\":\"a b\"}", &r, &e), -1);
    CHECK_STR(e.message, "admin: \"holder\" must be a name: " CLAW_NAME_RULE);

    /* Keys an op does not use are ignored; an escaped backslash before "u0000" is not a NUL. */
    CHECK_INT(parse("{\"op\":\"delete\",\"route\":\"g\",\"weight\":\"x\",\"port\":-1,"
                    "\"note\":\"a\\\\u0000\"}", &r, &e), 0);
    CHECK_INT(r.weight, -1);
    CHECK_INT(r.port, 0);
    claw_admin_req_free(&r);

    char name[160];
    memset(name, 'a', 127);
    name[127] = '\0';
    char line[256];
    snprintf(line, sizeof line, "{\"op\":\"delete\",\"route\":\"%s\"}", name);
    CHECK_INT(parse(line, &r, &e), 0);
    CHECK_INT(strlen(r.route), 127);
    claw_admin_req_free(&r);
}

static void malformed_json(void)
{
    bad("", CLAW_E_PARSE, "admin: invalid JSON at byte 0");
    bad("{\"op\":\"list\"", CLAW_E_PARSE, "admin: invalid JSON at byte 11"); /* cJSON: the last byte */
    bad("{\"op\":list}", CLAW_E_PARSE, "admin: invalid JSON at byte 6");
    bad("{\"op\":\"list\"} x", CLAW_E_PARSE, "admin: text after the command at byte 14");
    bad("{\"op\":\"delete\",\"route\":\"a\"}{\"op\":\"delete\",\"route\":\"b\"}", CLAW_E_PARSE,
        "admin: text after the command at byte 27");
    bad_n("{\"op\":\"list\"}\0", 14, CLAW_E_PARSE, "admin: invalid JSON at byte 13");
    bad_n("{\"op\":\"delete\",\"route\":\"a\0b\"}", 29, CLAW_E_PARSE,
          "admin: invalid JSON at byte 25");
    bad("{\"op\":\"delete\",\"route\":\"a\\u0000b\"}", CLAW_E_INVALID,
        "admin: strings must not contain \\u0000");
    bad("{\"op\":\"list\\u0000x\"}", CLAW_E_INVALID, "admin: strings must not contain \\u0000");

    size_t n = CLAW_ADMIN_MAX_LINE + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    bad_n(big, n, CLAW_E_INVALID, "admin: command longer than 65536 bytes");
    free(big);
}

static void malformed_commands(void)
{
    const char *name_msg = "admin: \"route\" must be a name: a letter or digit, then letters, digits, '_', '.' and '-'";
    bad("[\"op\",\"list\"]", CLAW_E_INVALID, "admin: a command is a JSON object");
    bad("\"list\"", CLAW_E_INVALID, "admin: a command is a JSON object");
    bad("{}", CLAW_E_INVALID, "admin: \"op\" is missing");
    bad("{\"op\":1}", CLAW_E_INVALID, "admin: \"op\" is missing");
    bad("{\"op\":\"restart\"}", CLAW_E_INVALID, "admin: unknown op \"restart\"");
    bad("{\"op\":\"LIST\"}", CLAW_E_INVALID, "admin: unknown op \"LIST\"");
    bad("{\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", CLAW_E_INVALID,
        "admin: unknown op \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    bad("{\"op\":\"switch\"}", CLAW_E_INVALID, "admin: \"route\" is missing");
    bad("{\"op\":\"delete\",\"route\":\"\"}", CLAW_E_INVALID, name_msg);
    bad("{\"op\":\"delete\",\"route\":\"a b\"}", CLAW_E_INVALID, name_msg);
    bad("{\"op\":\"delete\",\"route\":\"../x\"}", CLAW_E_INVALID, name_msg);
    bad("{\"op\":\"delete\",\"route\":7}", CLAW_E_INVALID, name_msg);
    bad("{\"op\":\"delete\",\"route\":\"-r\"}", CLAW_E_INVALID, name_msg);
    bad("{\"op\":\"delete\",\"route\":\".r\"}", CLAW_E_INVALID, name_msg);
    bad("{\"op\":\"delete\",\"route\":\"_r\"}", CLAW_E_INVALID, name_msg);
    char line[256], name[160];
    memset(name, 'a', 128);
    name[128] = '\0';
    snprintf(line, sizeof line, "{\"op\":\"delete\",\"route\":\"%s\"}", name);
    bad(line, CLAW_E_INVALID, name_msg);

    bad("{\"op\":\"switch\",\"route\":\"r\"}", CLAW_E_INVALID, "admin: \"container\" is missing");
    bad("{\"op\":\"remove\",\"route\":\"r\",\"container\":\"c;rm\"}", CLAW_E_INVALID,
        "admin: \"container\" must be a name: a letter or digit, then letters, digits, '_', '.' and '-'");

    const char *weight_msg = "admin: \"weight\" must be an integer from 0 to 100";
    bad("{\"op\":\"add\",\"route\":\"r\",\"container\":\"c\",\"weight\":101}", CLAW_E_INVALID, weight_msg);
    bad("{\"op\":\"add\",\"route\":\"r\",\"container\":\"c\",\"weight\":-1}", CLAW_E_INVALID, weight_msg);
    bad("{\"op\":\"add\",\"route\":\"r\",\"container\":\"c\",\"weight\":5.5}", CLAW_E_INVALID, weight_msg);
    bad("{\"op\":\"add\",\"route\":\"r\",\"container\":\"c\",\"weight\":\"5\"}", CLAW_E_INVALID, weight_msg);

    const char *timeout_msg = "admin: \"timeout\" must be seconds from 0 to 86400";
    bad("{\"op\":\"drain\",\"route\":\"r\",\"container\":\"c\",\"timeout\":-0.5}", CLAW_E_INVALID, timeout_msg);
    bad("{\"op\":\"drain\",\"route\":\"r\",\"container\":\"c\",\"timeout\":86401}", CLAW_E_INVALID, timeout_msg);
    bad("{\"op\":\"drain\",\"route\":\"r\",\"container\":\"c\",\"timeout\":1e999}", CLAW_E_INVALID, timeout_msg);
    bad("{\"op\":\"drain\",\"route\":\"r\",\"container\":\"c\",\"timeout\":null}", CLAW_E_INVALID, timeout_msg);
    bad("{\"op\":\"pause\",\"route\":\"r\",\"timeout\":-1}", CLAW_E_INVALID, timeout_msg);
    bad("{\"op\":\"pause\"}", CLAW_E_INVALID, "admin: \"route\" is missing");

    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":{\"c\":1},\"sticky\":1}", CLAW_E_INVALID,
        "admin: \"sticky\" must be true or false");
    const char *weights_msg = "admin: \"weights\" must be an object of container: percent";
    bad("{\"op\":\"weight\",\"route\":\"r\"}", CLAW_E_INVALID, weights_msg);
    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":{}}", CLAW_E_INVALID, weights_msg);
    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":[10]}", CLAW_E_INVALID, weights_msg);
    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":{\"a/b\":10}}", CLAW_E_INVALID,
        "admin: invalid container name in \"weights\"");
    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":{\"\":10}}", CLAW_E_INVALID,
        "admin: invalid container name in \"weights\"");
    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":{\"a\":50,\"b\":100.5}}", CLAW_E_INVALID,
        "admin: weight of \"b\" must be an integer from 0 to 100");
    bad("{\"op\":\"weight\",\"route\":\"r\",\"weights\":{\"a\":true}}", CLAW_E_INVALID,
        "admin: weight of \"a\" must be an integer from 0 to 100");

    const char *listen_msg = "admin: \"listen\" must be a list of 1 to 16 addresses";
    const char *port_msg = "admin: \"port\" must be an integer from 1 to 65535";
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"port\":80}", CLAW_E_INVALID, listen_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[],\"port\":80}",
        CLAW_E_INVALID, listen_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":\"0.0.0.0\",\"port\":80}",
        CLAW_E_INVALID, listen_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[1],\"port\":80}",
        CLAW_E_INVALID, listen_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[\"a\",\"a\",\"a\",\"a\","
        "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"],\"port\":80}",
        CLAW_E_INVALID, listen_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[\"::\"]}", CLAW_E_INVALID,
        port_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[\"::\"],\"port\":0}",
        CLAW_E_INVALID, port_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[\"::\"],\"port\":65536}",
        CLAW_E_INVALID, port_msg);
    bad("{\"op\":\"create\",\"route\":\"r\",\"container\":\"c\",\"listen\":[\"::\"],\"port\":80.5}",
        CLAW_E_INVALID, port_msg);
}

int main(void)
{
    valid_commands();
    malformed_json();
    malformed_commands();
    return check_done();
}
