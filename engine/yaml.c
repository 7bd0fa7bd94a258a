/* YAML → cJSON with libyaml's event parser. One builder walks the events of the first
 * document recursively; anchors point at nodes already built, and an alias is a deep
 * copy of its anchor, paid for in the node budget before it is made. */
#include "yamltree.h"

#include <yaml.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct anchor {
    char *name;        /* owned */
    const cJSON *node; /* borrowed: lives in the tree or in the builder's graveyard */
    char *text;        /* owned: a scalar's text as written (alias keys), else NULL */
    size_t nodes;      /* values in node: what one alias of it costs */
    int height;        /* levels in node, 1 for a scalar */
} anchor;

typedef struct builder {
    yaml_parser_t parser;
    const char *name; /* for messages */
    const char *text; /* the input, to place reader errors */
    size_t len;
    claw_err *err;
    anchor *anchors; /* in definition order; a redefinition shadows the earlier one */
    size_t n_anchors, cap_anchors;
    cJSON *graveyard; /* anchored nodes that are not in the tree (keys, merge sources) */
    size_t nodes;     /* values built so far, aliases and merges included */
    int deepest;      /* deepest level reached in the node being built */
} builder;

/* The keys of one mapping, for duplicate detection and merges in constant time:
 * open addressing over strings owned by the mapping's items. */
typedef struct keyset {
    const char **slot;
    size_t cap, n;
} keyset;

typedef struct key {
    char *text; /* owned */
    bool merge; /* a plain, untagged "<<" */
    yaml_mark_t mark;
} key;

static cJSON *build_node(builder *b, yaml_event_t *ev, int depth);

__attribute__((format(printf, 3, 4))) static int fail_at(builder *b, yaml_mark_t mark,
                                                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return claw_fail(b->err, CLAW_E_PARSE, 0, "%s:%zu:%zu: %s", b->name, mark.line + 1,
                     mark.column + 1, msg);
}

static int fail_oom(builder *b)
{
    return claw_fail(b->err, CLAW_E_IO, 0, "%s: out of memory", b->name);
}

/* The reader reports a byte offset, not a line and column. */
static yaml_mark_t mark_at_offset(const builder *b, size_t offset)
{
    yaml_mark_t mark = {0, 0, 0};
    for (size_t i = 0; i < offset && i < b->len; i++) {
        if (b->text[i] == '\n') {
            mark.line++;
            mark.column = 0;
        } else {
            mark.column++;
        }
    }
    return mark;
}

static int fail_parser(builder *b)
{
    const yaml_parser_t *p = &b->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return fail_oom(b);
    yaml_mark_t mark = p->problem_mark;
    if (p->error == YAML_READER_ERROR)
        mark = mark_at_offset(b, p->problem_offset);
    return fail_at(b, mark, "%s", p->problem ? p->problem : "invalid YAML");
}

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev))
        return fail_parser(b);
    return 0;
}

/* Charges n values to the budget that stops alias bombs. */
static int spend(builder *b, size_t n, yaml_mark_t mark)
{
    if (n > CLAW_YAML_MAX_NODES - b->nodes)
        return fail_at(b, mark, "document expands to more than %d nodes",
                       CLAW_YAML_MAX_NODES);
    b->nodes += n;
    return 0;
}

static size_t tree_size(const cJSON *node)
{
    size_t n = 1;
    for (const cJSON *c = node->child; c; c = c->next)
        n += tree_size(c);
    return n;
}

/* ---- keyset ---- */

static size_t hash_str(const char *s)
{
    size_t h = 14695981039346656037u; /* FNV-1a; truncates harmlessly on 32 bits */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static const char **keyset_slot(const keyset *ks, const char *k)
{
    size_t mask = ks->cap - 1, i = hash_str(k) & mask;
    while (ks->slot[i] && strcmp(ks->slot[i], k) != 0)
        i = (i + 1) & mask;
    return &ks->slot[i];
}

static bool keyset_has(const keyset *ks, const char *k)
{
    return ks->cap && *keyset_slot(ks, k);
}

/* Adds a key known to be absent; k must outlive the set. */
static int keyset_add(keyset *ks, const char *k)
{
    if ((ks->n + 1) * 2 > ks->cap) {
        keyset grown = {NULL, ks->cap ? ks->cap * 2 : 16, ks->n};
        grown.slot = calloc(grown.cap, sizeof *grown.slot);
        if (!grown.slot)
            return -1;
        for (size_t i = 0; i < ks->cap; i++)
            if (ks->slot[i])
                *keyset_slot(&grown, ks->slot[i]) = ks->slot[i];
        free(ks->slot);
        *ks = grown;
    }
    *keyset_slot(ks, k) = k;
    ks->n++;
    return 0;
}

/* ---- anchors ---- */

static const anchor *find_anchor(const builder *b, const char *name)
{
    for (size_t i = b->n_anchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0)
            return &b->anchors[i];
    return NULL;
}

/* Takes ownership of name and text, whatever happens. */
static int add_anchor(builder *b, char *name, const cJSON *node, char *text, size_t nodes,
                      int height)
{
    if (b->n_anchors == b->cap_anchors) {
        size_t cap = b->cap_anchors ? b->cap_anchors * 2 : 8;
        anchor *grown = realloc(b->anchors, cap * sizeof *grown);
        if (!grown) {
            free(name);
            free(text);
            return fail_oom(b);
        }
        b->anchors = grown;
        b->cap_anchors = cap;
    }
    b->anchors[b->n_anchors++] = (anchor){name, node, text, nodes, height};
    return 0;
}

static void free_anchors(builder *b)
{
    for (size_t i = 0; i < b->n_anchors; i++) {
        free(b->anchors[i].name);
        free(b->anchors[i].text);
    }
    free(b->anchors);
}

/* ---- scalars ---- */

static bool is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", NULL};
static const char *const nan_words[] = {".nan", ".NaN", ".NAN", NULL};
static const char *const inf_words[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
static const char *const ninf_words[] = {"-.inf", "-.Inf", "-.INF", NULL};

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* An integer as Go's strconv.ParseInt(s, 0, 64), or ParseUint for what int64 cannot
 * hold: that is what yaml.v3 tries, so 0x1F, 0o17, 0b101 and (YAML 1.1) 0755 count. */
static bool parse_int(const char *s, double *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1])
        base = 8, s += 1;
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d = digit_value(*s);
        if (d < 0 || (unsigned)d >= base || v > (UINT64_MAX - (unsigned)d) / base)
            return false;
        v = v * base + (unsigned)d;
    }
    if (neg && v > (uint64_t)INT64_MAX + 1)
        return false;
    *out = neg ? -(double)v : (double)v;
    return true;
}

static const char *skip_digits(const char *s)
{
    while (*s >= '0' && *s <= '9')
        s++;
    return s;
}

/* yaml.v3's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool parse_float(const char *s, double *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '.') {
        const char *q = skip_digits(p + 1);
        if (q == p + 1)
            return false;
        p = q;
    } else {
        const char *q = skip_digits(p);
        if (q == p)
            return false;
        p = *q == '.' ? skip_digits(q + 1) : q;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        const char *q = skip_digits(p);
        if (q == p)
            return false;
        p = q;
    }
    if (*p)
        return false;
    double d = strtod(s, NULL);
    if (isinf(d))
        return false; /* overflow: Go's ParseFloat fails, the text stays a string */
    *out = d;
    return true;
}

/* yaml.v3 drops underscores before it tries a number, so 1_000 is 1000. */
static char *strip_underscores(const char *s)
{
    char *plain = malloc(strlen(s) + 1), *w = plain;
    if (!plain)
        return NULL;
    for (; *s; s++)
        if (*s != '_')
            *w++ = *s;
    *w = '\0';
    return plain;
}

/* 1 and *out set for a number, 0 for anything else, -1 when out of memory. */
static int parse_number(const char *s, bool int_only, double *out)
{
    if (!int_only && is_one_of(s, nan_words)) {
        *out = NAN;
        return 1;
    }
    if (!int_only && (is_one_of(s, inf_words) || is_one_of(s, ninf_words))) {
        *out = *s == '-' ? -INFINITY : INFINITY;
        return 1;
    }
    if (!*s || !strchr("0123456789+-.", *s))
        return 0;
    char *plain = strip_underscores(s);
    if (!plain)
        return -1;
    int found = parse_int(plain, out) || (!int_only && parse_float(plain, out));
    free(plain);
    return found;
}

/* cJSON_CreateNumber converts the double to int, undefined for a NaN. */
static cJSON *number_node(double d)
{
    cJSON *n = cJSON_CreateNumber(isnan(d) ? 0 : d);
    if (n && isnan(d))
        n->valuedouble = d;
    return n;
}

/* A plain, untagged scalar, typed by the core schema; NULL when out of memory. */
static cJSON *resolve_plain(const char *s)
{
    if (is_one_of(s, null_words))
        return cJSON_CreateNull();
    if (is_one_of(s, true_words))
        return cJSON_CreateTrue();
    if (is_one_of(s, false_words))
        return cJSON_CreateFalse();
    double d;
    int found = parse_number(s, false, &d);
    if (found < 0)
        return NULL;
    return found ? number_node(d) : cJSON_CreateString(s);
}

/* A scalar with a core-schema tag (t is what follows "!!"): 1 with *out set (NULL when
 * out of memory), 0 for a tag that is not one of them, -1 for a value the tag refuses. */
static int resolve_tagged(builder *b, const char *t, const char *s, yaml_mark_t mark,
                          cJSON **out)
{
    double d;
    int found = 0;
    *out = NULL;
    if (strcmp(t, "str") == 0) {
        *out = cJSON_CreateString(s);
        return 1;
    }
    if (strcmp(t, "null") == 0) {
        found = is_one_of(s, null_words);
        *out = found ? cJSON_CreateNull() : NULL;
    } else if (strcmp(t, "bool") == 0) {
        found = is_one_of(s, true_words) || is_one_of(s, false_words);
        *out = found ? cJSON_CreateBool(is_one_of(s, true_words)) : NULL;
    } else if (strcmp(t, "int") == 0 || strcmp(t, "float") == 0) {
        found = parse_number(s, t[0] == 'i', &d);
        *out = found > 0 ? number_node(d) : NULL;
    } else {
        return 0;
    }
    if (found == 0)
        return fail_at(b, mark, "invalid !!%s value \"%s\"", t, s);
    return 1;
}

static cJSON *scalar_node(builder *b, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (memchr(s, '\0', ev->data.scalar.length)) {
        fail_at(b, ev->start_mark, "a NUL character cannot be represented");
        return NULL;
    }
    cJSON *node = NULL;
    int core = 0;
    if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
        core = resolve_tagged(b, tag + strlen(TAG_PREFIX), s, ev->start_mark, &node);
    if (core < 0)
        return NULL;
    /* Other tags are ignored. Quoted and block scalars are strings, as is a plain one
     * with the non-specific tag "!". */
    if (core == 0 && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        !(tag && strcmp(tag, "!") == 0))
        node = resolve_plain(s);
    else if (core == 0)
        node = cJSON_CreateString(s);
    if (!node)
        fail_oom(b);
    return node;
}

/* ---- collections ---- */

static cJSON *expand_alias(builder *b, const yaml_event_t *ev, int depth)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = find_anchor(b, name);
    if (!a) {
        fail_at(b, ev->start_mark, "unknown anchor \"%s\"", name);
        return NULL;
    }
    if (depth + a->height - 1 > CLAW_YAML_MAX_DEPTH) {
        fail_at(b, ev->start_mark, "nesting deeper than %d levels", CLAW_YAML_MAX_DEPTH);
        return NULL;
    }
    if (spend(b, a->nodes, ev->start_mark) < 0)
        return NULL;
    cJSON *copy = cJSON_Duplicate(a->node, 1);
    if (!copy) {
        fail_oom(b);
        return NULL;
    }
    cJSON_free(copy->string); /* the anchor's own key, if it had one; not ours */
    copy->string = NULL;
    if (depth + a->height - 1 > b->deepest)
        b->deepest = depth + a->height - 1;
    return copy;
}

static cJSON *build_sequence(builder *b, yaml_mark_t mark, int depth)
{
    cJSON *seq = cJSON_CreateArray();
    if (!seq) {
        fail_oom(b);
        return NULL;
    }
    if (spend(b, 1, mark) < 0)
        goto fail;
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) < 0)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return seq;
        }
        cJSON *item = build_node(b, &ev, depth + 1);
        if (!item)
            goto fail;
        cJSON_AddItemToArray(seq, item);
    }
fail:
    cJSON_Delete(seq);
    return NULL;
}

/* An anchored key can be aliased later, as a key or as a value. */
static int anchor_key(builder *b, const yaml_event_t *ev)
{
    cJSON *node = scalar_node(b, ev);
    if (!node)
        return -1;
    cJSON_AddItemToArray(b->graveyard, node);
    if (spend(b, 1, ev->start_mark) < 0)
        return -1;
    char *name = strdup((const char *)ev->data.scalar.anchor);
    char *text = strdup((const char *)ev->data.scalar.value);
    if (!name || !text) {
        free(name);
        free(text);
        return fail_oom(b);
    }
    return add_anchor(b, name, node, text, 1, 1);
}

static int read_scalar_key(builder *b, const yaml_event_t *ev, key *k)
{
    const char *s = (const char *)ev->data.scalar.value;
    if (memchr(s, '\0', ev->data.scalar.length))
        return fail_at(b, k->mark, "a NUL character cannot be represented");
    if (!(k->text = strdup(s)))
        return fail_oom(b);
    k->merge = strcmp(s, "<<") == 0 && !ev->data.scalar.tag &&
               ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return ev->data.scalar.anchor ? anchor_key(b, ev) : 0;
}

/* Reads the key that *ev (consumed) starts: a scalar, or an alias of one. Mapping
 * keys are their text, whatever the type of the scalar. */
static int read_key(builder *b, yaml_event_t *ev, key *k)
{
    int rc;
    k->text = NULL;
    k->merge = false;
    k->mark = ev->start_mark;
    if (ev->type == YAML_SCALAR_EVENT) {
        rc = read_scalar_key(b, ev, k);
    } else if (ev->type == YAML_ALIAS_EVENT) {
        const char *name = (const char *)ev->data.alias.anchor;
        const anchor *a = find_anchor(b, name);
        if (!a)
            rc = fail_at(b, k->mark, "unknown anchor \"%s\"", name);
        else if (!a->text)
            rc = fail_at(b, k->mark, "mapping keys must be scalars");
        else
            rc = (k->text = strdup(a->text)) ? 0 : fail_oom(b);
    } else {
        rc = fail_at(b, k->mark, "mapping keys must be scalars");
    }
    yaml_event_delete(ev);
    if (rc < 0) {
        free(k->text);
        k->text = NULL;
    }
    return rc;
}

static bool is_merge_source(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return true;
    if (!cJSON_IsArray(v))
        return false;
    for (const cJSON *c = v->child; c; c = c->next)
        if (!cJSON_IsObject(c))
            return false;
    return true;
}

/* Copies into map the members of src that it lacks: explicit keys, and keys of an
 * earlier merge source, win (YAML 1.1 merge). */
static int merge_one(builder *b, cJSON *map, keyset *keys, const cJSON *src,
                     yaml_mark_t mark)
{
    for (const cJSON *item = src->child; item; item = item->next) {
        if (keyset_has(keys, item->string))
            continue;
        if (spend(b, tree_size(item), mark) < 0)
            return -1;
        cJSON *copy = cJSON_Duplicate(item, 1);
        if (!copy || !cJSON_AddItemToObject(map, item->string, copy)) {
            cJSON_Delete(copy);
            return fail_oom(b);
        }
        if (keyset_add(keys, copy->string) < 0) /* map's copy of the key */
            return fail_oom(b);
    }
    return 0;
}

static int apply_merges(builder *b, cJSON *map, keyset *keys, const cJSON *merges,
                        yaml_mark_t mark)
{
    for (const cJSON *src = merges->child; src; src = src->next) {
        const cJSON *one = cJSON_IsArray(src) ? src->child : src;
        for (; one; one = cJSON_IsArray(src) ? one->next : NULL)
            if (merge_one(b, map, keys, one, mark) < 0)
                return -1;
    }
    return 0;
}

/* Adds value under k (or, for "<<", to the merge sources); consumes value. */
static int add_member(builder *b, cJSON *map, keyset *keys, cJSON *merges, const key *k,
                      cJSON *value)
{
    if (k->merge) {
        if (!is_merge_source(value)) {
            cJSON_Delete(value);
            return fail_at(b, k->mark, "map merge requires map or sequence of maps as the value");
        }
        cJSON_AddItemToArray(merges, value);
        return 0;
    }
    if (keyset_has(keys, k->text)) {
        cJSON_Delete(value);
        return fail_at(b, k->mark, "duplicate key \"%s\"", k->text);
    }
    if (!cJSON_AddItemToObject(map, k->text, value)) {
        cJSON_Delete(value);
        return fail_oom(b);
    }
    /* value->string is the copy of the key that map owns from now on */
    return keyset_add(keys, value->string) < 0 ? fail_oom(b) : 0;
}

static int read_members(builder *b, cJSON *map, keyset *keys, cJSON *merges, int depth)
{
    for (;;) {
        yaml_event_t ev;
        key k;
        if (next_event(b, &ev) < 0)
            return -1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (read_key(b, &ev, &k) < 0 || next_event(b, &ev) < 0) {
            free(k.text);
            return -1;
        }
        cJSON *value = build_node(b, &ev, depth + 1);
        int rc = value ? add_member(b, map, keys, merges, &k, value) : -1;
        free(k.text);
        if (rc < 0)
            return -1;
    }
}

static cJSON *build_mapping(builder *b, yaml_mark_t mark, int depth)
{
    cJSON *map = cJSON_CreateObject();
    cJSON *merges = cJSON_CreateArray(); /* the values of "<<" keys, in order */
    keyset keys = {NULL, 0, 0};
    int rc = map && merges ? 0 : fail_oom(b);
    if (rc == 0)
        rc = spend(b, 1, mark);
    if (rc == 0)
        rc = read_members(b, map, &keys, merges, depth);
    if (rc == 0)
        rc = apply_merges(b, map, &keys, merges, mark);
    free(keys.slot);
    if (rc < 0) {
        cJSON_Delete(map);
        cJSON_Delete(merges);
        return NULL;
    }
    /* Anchors may point into the merge sources: keep them until the end. */
    if (merges->child)
        cJSON_AddItemToArray(b->graveyard, merges);
    else
        cJSON_Delete(merges);
    return map;
}

static const char *event_anchor(const yaml_event_t *ev)
{
    const yaml_char_t *a = NULL;
    if (ev->type == YAML_SCALAR_EVENT)
        a = ev->data.scalar.anchor;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        a = ev->data.sequence_start.anchor;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        a = ev->data.mapping_start.anchor;
    return (const char *)a;
}

static cJSON *build_by_type(builder *b, const yaml_event_t *ev, int depth)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        cJSON *node = scalar_node(b, ev);
        if (node && spend(b, 1, ev->start_mark) < 0) {
            cJSON_Delete(node);
            return NULL;
        }
        return node;
    }
    case YAML_SEQUENCE_START_EVENT:
        return build_sequence(b, ev->start_mark, depth);
    case YAML_MAPPING_START_EVENT:
        return build_mapping(b, ev->start_mark, depth);
    default:
        fail_at(b, ev->start_mark, "unexpected event %d", (int)ev->type);
        return NULL;
    }
}

/* Builds the node that *ev (consumed) starts, at nesting level depth (1 = root). */
static cJSON *build_node(builder *b, yaml_event_t *ev, int depth)
{
    if (ev->type == YAML_ALIAS_EVENT) {
        cJSON *copy = expand_alias(b, ev, depth);
        yaml_event_delete(ev);
        return copy;
    }
    if (depth > CLAW_YAML_MAX_DEPTH) {
        fail_at(b, ev->start_mark, "nesting deeper than %d levels", CLAW_YAML_MAX_DEPTH);
        yaml_event_delete(ev);
        return NULL;
    }
    const char *anchor_name = event_anchor(ev);
    char *name = anchor_name ? strdup(anchor_name) : NULL;
    char *text = NULL;
    if (anchor_name && ev->type == YAML_SCALAR_EVENT)
        text = strdup((const char *)ev->data.scalar.value);
    bool oom = anchor_name && (!name || (ev->type == YAML_SCALAR_EVENT && !text));

    size_t nodes_before = b->nodes;
    int deepest_before = b->deepest;
    b->deepest = depth;
    cJSON *node = oom ? NULL : build_by_type(b, ev, depth);
    int height = b->deepest - depth + 1;
    if (deepest_before > b->deepest)
        b->deepest = deepest_before;
    yaml_event_delete(ev);

    if (oom)
        fail_oom(b);
    if (node && name) {
        if (add_anchor(b, name, node, text, b->nodes - nodes_before, height) == 0)
            return node;
        cJSON_Delete(node);
        return NULL;
    }
    free(name);
    free(text);
    return node;
}

static cJSON *parse_stream(builder *b)
{
    yaml_event_t ev;
    if (next_event(b, &ev) < 0) /* stream start */
        return NULL;
    yaml_event_delete(&ev);
    if (next_event(b, &ev) < 0)
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        cJSON *null = cJSON_CreateNull();
        if (!null)
            fail_oom(b);
        return null;
    }
    yaml_event_delete(&ev); /* document start */
    if (next_event(b, &ev) < 0)
        return NULL;
    cJSON *root = build_node(b, &ev, 1);
    /* The document end, then the start of what follows: that reports stray text after
     * the root node ("[1, 2]\nfoo") without reading the documents we ignore. */
    for (int i = 0; root && i < 2; i++) {
        if (next_event(b, &ev) < 0) {
            cJSON_Delete(root);
            return NULL;
        }
        yaml_event_delete(&ev);
    }
    return root;
}

cJSON *claw_yaml_parse(const char *text, size_t len, const char *name, claw_err *err)
{
    builder b;
    memset(&b, 0, sizeof b);
    b.name = name ? name : "<yaml>";
    b.text = text ? text : "";
    b.len = text ? len : 0;
    b.err = err;
    if (!yaml_parser_initialize(&b.parser)) {
        fail_oom(&b);
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)b.text, b.len);
    b.graveyard = cJSON_CreateArray();
    cJSON *root = b.graveyard ? parse_stream(&b) : NULL;
    if (!b.graveyard)
        fail_oom(&b);
    cJSON_Delete(b.graveyard);
    free_anchors(&b);
    yaml_parser_delete(&b.parser);
    return root;
}

/* The whole file in memory, NUL-terminated; the caller frees it. */
static char *read_file(const char *path, size_t *len, claw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        claw_fail_errno(err, errno, "cannot read %s", path);
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int e = 0;
    for (;;) {
        if (cap - n < 2) {
            char *grown = realloc(buf, cap ? cap * 2 : 4096);
            if (!grown) {
                e = ENOMEM;
                break;
            }
            buf = grown;
            cap = cap ? cap * 2 : 4096;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            e = ferror(f) ? (errno ? errno : EIO) : 0;
            break;
        }
    }
    fclose(f);
    if (e) {
        free(buf);
        claw_fail_errno(err, e, "cannot read %s", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

cJSON *claw_yaml_load(const char *path, claw_err *err)
{
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text)
        return NULL;
    cJSON *root = claw_yaml_parse(text, len, path, err);
    free(text);
    return root;
}
