/* claw_yaml_parse / claw_yaml_load: typing, structure, anchors, merge keys, limits and
 * the exact text of errors. Runs in tests/unit (data files under data/yaml/). */
#include "check.h"
#include "yamltree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"

/* The message of the error that parsing text (named "t.yml") gives, or "" if none. */
static const char *parse_error(const char *text, claw_err *e)
{
    memset(e, 0, sizeof *e);
    cJSON *root = claw_yaml_parse(text, strlen(text), "t.yml", e);
    if (root) {
        cJSON_Delete(root);
        return "";
    }
    return e->message;
}

static cJSON *parse(const char *text)
{
    claw_err e;
    cJSON *root = claw_yaml_parse(text, strlen(text), "t.yml", &e);
    if (!root)
        fprintf(stderr, "unexpected error: %s\n", e.message);
    return root;
}

static void test_scalars(void)
{
    claw_err e;
    cJSON *r = claw_yaml_load("data/yaml/scalars.yml", &e);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(cJSON_GetArraySize(at(r, "nulls")), 4);
    for (int i = 0; i < 4; i++) {
        char p[16];
        snprintf(p, sizeof p, "nulls/%d", i);
        CHECK(cJSON_IsNull(at(r, p)));
    }
    CHECK(cJSON_IsNull(at(r, "empty")));
    CHECK(cJSON_IsTrue(at(r, "bools/0")) && cJSON_IsTrue(at(r, "bools/1")) &&
          cJSON_IsTrue(at(r, "bools/2")));
    CHECK(cJSON_IsFalse(at(r, "bools/3")) && cJSON_IsFalse(at(r, "bools/4")) &&
          cJSON_IsFalse(at(r, "bools/5")));
    /* YAML 1.1 booleans are strings in 1.2, as in Compose. */
    CHECK_STR(str(r, "yaml11_words/0"), "yes");
    CHECK_STR(str(r, "yaml11_words/3"), "off");
    CHECK_STR(str(r, "yaml11_words/7"), "ON");

    static const double ints[] = {0, 42, -17, 7, 15, 31, 31, 5, 493, 1000, -16};
    for (int i = 0; i < 11; i++) {
        char p[16];
        snprintf(p, sizeof p, "ints/%d", i);
        CHECK(num(r, p) == ints[i]);
    }
    static const double floats[] = {1.5, -2.25, 0.5, 1.0, 1000, 0.025, 100, 8, 1e20};
    for (int i = 0; i < 9; i++) {
        char p[16];
        snprintf(p, sizeof p, "floats/%d", i);
        CHECK(num(r, p) == floats[i]);
    }
    CHECK(isinf(num(r, "specials/0")) && num(r, "specials/0") > 0);
    CHECK(isinf(num(r, "specials/1")) && num(r, "specials/1") < 0);
    CHECK(isinf(num(r, "specials/2")) && num(r, "specials/2") > 0);
    CHECK(isnan(num(r, "specials/3")) && isnan(num(r, "specials/4")));

    static const char *const strings[] = {"1e400", "0x", "1.2.3", "42", "7", "12:30",
                                          "2001-12-14", "-", ".", "0xZZ", "_1", "1__0z"};
    for (int i = 0; i < 12; i++) {
        char p[16];
        snprintf(p, sizeof p, "strings/%d", i);
        CHECK_STR(str(r, p), strings[i]);
    }
    CHECK(num(r, "port") == 18789);
    CHECK_STR(str(r, "ports/0"), "18789:18789");
    CHECK_STR(str(r, "ports/1"), "8080:80");
    CHECK_STR(str(r, "quoted_null"), "null");
    CHECK_STR(str(r, "quoted_true"), "true");
    CHECK_STR(str(r, "literal"), "line one\nline two\n");
    CHECK_STR(str(r, "folded"), "folded text\n");
    CHECK_STR(str(r, "tagged/str"), "123");
    CHECK(num(r, "tagged/int") == 42);
    CHECK(num(r, "tagged/float") == 3);
    CHECK(cJSON_IsTrue(at(r, "tagged/bool")));
    CHECK(cJSON_IsNull(at(r, "tagged/null")));
    CHECK_STR(str(r, "tagged/nonspecific"), "12");
    CHECK(num(r, "tagged/custom") == 12); /* unknown tags are ignored */
    cJSON_Delete(r);

    CHECK_STR(parse_error("x: !!int abc", &e), "t.yml:1:4: invalid !!int value \"abc\"");
    CHECK_STR(e.code, CLAW_E_PARSE);
    CHECK_STR(parse_error("x: !!int 1.5", &e), "t.yml:1:4: invalid !!int value \"1.5\"");
    CHECK_STR(parse_error("x: !!bool yes", &e), "t.yml:1:4: invalid !!bool value \"yes\"");
    CHECK_STR(parse_error("x: !!float abc", &e), "t.yml:1:4: invalid !!float value \"abc\"");
    CHECK_STR(parse_error("x: !!null 0", &e), "t.yml:1:4: invalid !!null value \"0\"");
    CHECK_STR(parse_error("x: \"a\\0b\"", &e), "t.yml:1:4: a NUL character cannot be represented");
}

static void test_documents(void)
{
    cJSON *r = parse("");
    CHECK(cJSON_IsNull(r));
    cJSON_Delete(r);
    r = parse("# only a comment\n");
    CHECK(cJSON_IsNull(r));
    cJSON_Delete(r);
    r = parse("---\n");
    CHECK(cJSON_IsNull(r));
    cJSON_Delete(r);
    r = parse("plain text");
    CHECK_STR(r ? r->valuestring : NULL, "plain text");
    cJSON_Delete(r);
    /* Only the first document counts; what follows is not even parsed. */
    r = parse("a: 1\n---\nb: [\n");
    CHECK(num(r, "a") == 1 && !at(r, "b"));
    cJSON_Delete(r);

    claw_err e;
    cJSON *ok = claw_yaml_parse("a: 1", 4, "t.yml", NULL);
    CHECK(ok != NULL);
    cJSON_Delete(ok);
    CHECK(claw_yaml_parse("a: [", 4, "t.yml", NULL) == NULL);
    /* len bounds the input, whatever follows it. */
    r = claw_yaml_parse("a: 1\nb: [", 5, "t.yml", &e);
    CHECK(num(r, "a") == 1);
    cJSON_Delete(r);
}

static void test_nested(void)
{
    claw_err e;
    cJSON *r = claw_yaml_load("data/yaml/nested.yml", &e);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_STR(str(r, "services/web/image"), "nginx");
    CHECK_STR(str(r, "services/web/command/2"), "daemon off;");
    CHECK_STR(str(r, "services/web/environment/1"), "B=2");
    CHECK(num(r, "services/web/deploy/replicas") == 2);
    CHECK_STR(str(r, "services/web/deploy/resources/limits/memory"), "512M");
    CHECK(num(r, "services/web/nested/0/1") == 2);
    CHECK(num(r, "services/web/nested/1/1/1/five") == 5);
    CHECK(cJSON_IsObject(at(r, "services/web/nested/2")) && !at(r, "services/web/nested/2")->child);
    CHECK(cJSON_IsArray(at(r, "services/web/nested/3")) && !at(r, "services/web/nested/3")->child);
    /* Keys are the scalar's text, whatever its type. */
    CHECK_STR(str(r, "1"), "one");
    CHECK_STR(str(r, "true"), "yes");
    CHECK_STR(str(r, "~"), "tilde");
    CHECK_STR(str(r, "explicit"), "key");
    cJSON_Delete(r);

    CHECK_STR(parse_error("? [a, b]\n: 1\n", &e), "t.yml:1:3: mapping keys must be scalars");
    CHECK_STR(parse_error("{a: 1}: 2\n", &e), "t.yml:1:1: mapping keys must be scalars");
}

static void test_anchors(void)
{
    claw_err e;
    cJSON *r = claw_yaml_load("data/yaml/anchors.yml", &e);
    CHECK(r != NULL);
    if (!r)
        return;
    /* plain aliases: a scalar, a mapping, twice in a sequence */
    CHECK(num(r, "services/b/port") == 18789);
    CHECK(num(r, "services/b/ports/1") == 18789);
    CHECK_STR(str(r, "services/b/logging/options/max-size"), "10m");
    /* the copies are independent of the anchor */
    CHECK(at(r, "services/b/logging") != at(r, "x-defaults/logging"));
    /* merge of one mapping */
    CHECK_STR(str(r, "services/a/image"), "a");
    CHECK_STR(str(r, "services/a/restart"), "unless-stopped");
    CHECK_STR(str(r, "services/a/logging/driver"), "json-file");
    CHECK(!at(r, "services/a/<<"));
    /* explicit keys win even when the merge comes after them */
    CHECK_STR(str(r, "services/c/restart"), "always");
    CHECK_STR(str(r, "services/c/logging/driver"), "json-file");
    /* a list of mappings: explicit first, then the earlier mapping over the later */
    CHECK_STR(str(r, "services/d/q"), "own");
    CHECK_STR(str(r, "services/d/p"), "first");
    CHECK_STR(str(r, "services/d/r"), "second");
    CHECK_INT(cJSON_GetArraySize(at(r, "services/d")), 3);
    /* an inline mapping as the merge value */
    CHECK_STR(str(r, "services/e/s"), "inline");
    CHECK_STR(str(r, "services/e/t"), "own");
    /* a redefined anchor: aliases see the latest definition */
    CHECK_STR(str(r, "first"), "one");
    CHECK_STR(str(r, "second"), "two");
    CHECK_STR(str(r, "key"), "value");
    cJSON_Delete(r);

    /* an anchored key, aliased as a value and as a (duplicate) key */
    r = parse("&k name: v\nother: *k\n");
    CHECK_STR(str(r, "other"), "name");
    cJSON_Delete(r);
    r = parse("x: &n 12\n*n : twelve\n");
    CHECK_STR(str(r, "12"), "twelve");
    cJSON_Delete(r);
    CHECK_STR(parse_error("&k a: 1\n*k : 2\n", &e), "t.yml:2:1: duplicate key \"a\"");
    /* merges nest */
    r = parse("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n");
    CHECK(num(r, "c/x") == 1 && num(r, "c/y") == 2 && num(r, "c/z") == 3);
    cJSON_Delete(r);
    /* a quoted "<<" is an ordinary key */
    r = parse("a: {\"<<\": 1}\n");
    CHECK(num(r, "a/<<") == 1);
    cJSON_Delete(r);

    CHECK_STR(parse_error("a: *nope\n", &e), "t.yml:1:4: unknown anchor \"nope\"");
    CHECK_STR(e.code, CLAW_E_PARSE);
    CHECK_STR(parse_error("a: &x [1, *x]\n", &e), "t.yml:1:11: unknown anchor \"x\"");
    CHECK_STR(parse_error("a: &x [1]\n*x : 2\n", &e), "t.yml:2:1: mapping keys must be scalars");
    CHECK_STR(parse_error("a:\n  <<: 1\n", &e),
              "t.yml:2:3: map merge requires map or sequence of maps as the value");
    CHECK_STR(parse_error("a:\n  <<: [{b: 1}, 2]\n", &e),
              "t.yml:2:3: map merge requires map or sequence of maps as the value");
}

static void test_errors(void)
{
    claw_err e;
    memset(&e, 0, sizeof e);
    CHECK(claw_yaml_load("data/yaml/dupkey.yml", &e) == NULL);
    CHECK_STR(e.code, CLAW_E_PARSE);
    CHECK_STR(e.message, "data/yaml/dupkey.yml:4:3: duplicate key \"image\"");

    CHECK(claw_yaml_load("data/yaml/syntax.yml", &e) == NULL);
    CHECK_STR(e.message,
              "data/yaml/syntax.yml:3:17: mapping values are not allowed in this context");
    CHECK_STR(e.code, CLAW_E_PARSE);

    memset(&e, 0, sizeof e);
    const char *text = "services:\n  web:\n   a: b: c\n";
    CHECK(claw_yaml_parse(text, strlen(text), "compose.yml", &e) == NULL);
    CHECK_STR(e.message, "compose.yml:3:8: mapping values are not allowed in this context");
    CHECK_STR(parse_error("a: [1, 2\nb: 3\n", &e),
              "t.yml:2:2: did not find expected ',' or ']'");
    CHECK_STR(parse_error("a: \"open\n", &e), "t.yml:2:1: found unexpected end of stream");
    CHECK_STR(parse_error("a:\n\tb: 1\n", &e),
              "t.yml:2:1: found character that cannot start any token");
    CHECK_STR(parse_error("a: 1\n b: 2\n", &e),
              "t.yml:2:3: mapping values are not allowed in this context");
    CHECK_STR(parse_error("[1, 2]\nfoo\n", &e),
              "t.yml:2:1: did not find expected <document start>");
    CHECK_STR(parse_error("a: 1\nb: \xff\n", &e), "t.yml:2:4: invalid leading UTF-8 octet");
    CHECK_STR(parse_error("a: 1\na: 2\n", &e), "t.yml:2:1: duplicate key \"a\"");
    CHECK_STR(parse_error("{x: 1, y: 2, x: 3}", &e), "t.yml:1:14: duplicate key \"x\"");

    memset(&e, 0, sizeof e);
    CHECK(claw_yaml_load("data/yaml/no-such-file.yml", &e) == NULL);
    CHECK_STR(e.code, CLAW_E_NOT_FOUND);
    CHECK_STR(e.message, "cannot read data/yaml/no-such-file.yml: No such file or directory");
    CHECK(claw_yaml_load("data/yaml", &e) == NULL);
    CHECK_STR(e.code, CLAW_E_IO);
    CHECK_STR(e.message, "cannot read data/yaml: Is a directory");
}

/* Many keys in one mapping: duplicate detection must not be quadratic, nor wrong. */
static void test_big_mapping(void)
{
    enum { N = 50000 };
    char *text = malloc((size_t)N * 24 + 32);
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(text + n, "k%d: %d\n", i, i);
    cJSON *r = claw_yaml_parse(text, n, "big.yml", NULL);
    CHECK_INT(cJSON_GetArraySize(r), N);
    CHECK(num(r, "k49999") == 49999);
    cJSON_Delete(r);
    n += (size_t)sprintf(text + n, "k123: again\n");
    claw_err e;
    CHECK(claw_yaml_parse(text, n, "big.yml", &e) == NULL);
    CHECK_STR(e.message, "big.yml:50001:1: duplicate key \"k123\"");
    free(text);
}

static void test_limits(void)
{
    claw_err e;
    memset(&e, 0, sizeof e);
    CHECK(claw_yaml_load("data/yaml/bomb.yml", &e) == NULL);
    CHECK_STR(e.code, CLAW_E_PARSE);
    CHECK_STR(e.message,
              "data/yaml/bomb.yml:7:36: document expands to more than 1000000 nodes");

    /* 512 levels are fine, 513 are not */
    char text[2 * (CLAW_YAML_MAX_DEPTH + 1) + 128];
    int d = CLAW_YAML_MAX_DEPTH;
    memset(text, '[', (size_t)d);
    memset(text + d, ']', (size_t)d);
    cJSON *r = claw_yaml_parse(text, 2 * (size_t)d, "deep.yml", &e);
    CHECK(r != NULL);
    cJSON_Delete(r);
    d++;
    memset(text, '[', (size_t)d);
    memset(text + d, ']', (size_t)d);
    CHECK(claw_yaml_parse(text, 2 * (size_t)d, "deep.yml", &e) == NULL);
    CHECK_STR(e.message, "deep.yml:1:513: nesting deeper than 512 levels");

    /* an alias that would nest too deep: 300 levels under "a", then 250 + 300 */
    size_t n = (size_t)sprintf(text, "a: &a ");
    memset(text + n, '[', 300), n += 300;
    memset(text + n, ']', 300), n += 300;
    n += (size_t)sprintf(text + n, "\nb: ");
    memset(text + n, '[', 250), n += 250;
    n += (size_t)sprintf(text + n, "*a");
    memset(text + n, ']', 250), n += 250;
    CHECK(claw_yaml_parse(text, n, "deep.yml", &e) == NULL);
    CHECK_STR(e.message, "deep.yml:2:254: nesting deeper than 512 levels");
}

int main(void)
{
    test_scalars();
    test_documents();
    test_nested();
    test_anchors();
    test_errors();
    test_big_mapping();
    test_limits();
    return check_done();
}
