/* Compose files: the .env file, interpolation and the project, following compose-go
 * (the library `docker compose` uses) wherever the rules are observable. */
#include "compose.h"
#include "buf.h"
#include "yamltree.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

extern char **environ; /* POSIX leaves declaring it to the program */

/* Nesting of ${A:-${B:-...}} beyond which a value is refused rather than recursed. */
#define MAX_INTERPOLATION_DEPTH 32

/* Where variables come from: the environment first, then the .env file. */
typedef struct varsrc {
    char *const *env;
    const cJSON *dotenv; /* object of strings, or NULL */
} varsrc;

/* One string value being interpolated, and what error messages need to name it. */
typedef struct interp {
    const varsrc *vars;
    const char *file;  /* the compose file as given */
    const char *path;  /* "services.web.image" */
    const char *value; /* the whole value */
    claw_err *err;
} interp;

typedef struct treepath {
    char buf[512]; /* long paths are cut short: they only appear in messages */
    size_t len;
} treepath;

static int expand(const interp *in, const char *s, size_t n, claw_buf *out, int depth);

/* ---- small helpers ---- */

static int fail_oom(claw_err *err, const char *file)
{
    return claw_fail(err, CLAW_E_IO, 0, "%s: out of memory", file);
}

static const char *lookup(const varsrc *v, const char *name, size_t n)
{
    for (char *const *e = v->env; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    for (const cJSON *d = v->dotenv ? v->dotenv->child : NULL; d; d = d->next)
        if (strlen(d->string) == n && strncmp(d->string, name, n) == 0)
            return d->valuestring;
    return NULL;
}

static bool is_name_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t name_length(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_name_start(s[0]))
        return 0;
    while (i < n && (is_name_start(s[i]) || (s[i] >= '0' && s[i] <= '9')))
        i++;
    return i;
}

/* ---- interpolation ---- */

static int fail_format(const interp *in)
{
    return claw_fail(in->err, CLAW_E_PARSE, 0, "%s: %s: invalid interpolation format for \"%s\"",
                     in->file, in->path, in->value);
}

static int fail_required(const interp *in, const char *name, size_t n, const char *s,
                         size_t len, int depth)
{
    claw_buf msg = {NULL, 0, 0};
    if (expand(in, s, len, &msg, depth + 1) < 0) {
        claw_buf_free(&msg);
        return -1;
    }
    claw_fail(in->err, CLAW_E_INVALID, 0, "%s: %s: required variable %.*s is missing a value%s%s",
              in->file, in->path, (int)n, name, msg.len ? ": " : "", msg.len ? msg.data : "");
    claw_buf_free(&msg);
    return -1;
}

/* The end of the word in ${NAME:-word}: the '}' that closes the braces, counting the
 * ${ opened inside it and skipping $$. Returns n when there is none. */
static size_t word_end(const char *s, size_t n)
{
    int open = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 1 < n && (s[i + 1] == '$' || s[i + 1] == '{')) {
            open += s[i + 1] == '{';
            i++;
        } else if (s[i] == '}' && open-- == 0) {
            return i;
        }
    }
    return n;
}

/* Expands what follows "${" in s; *used gets the length consumed, '}' included. */
static int expand_braced(const interp *in, const char *s, size_t n, claw_buf *out, int depth,
                         size_t *used)
{
    size_t k = name_length(s, n);
    if (k == 0 || k == n)
        return fail_format(in);
    const char *value = lookup(in->vars, s, k);
    if (s[k] == '}') {
        *used = k + 1;
        return value && claw_buf_str(out, value) < 0 ? fail_oom(in->err, in->file) : 0;
    }
    bool colon = s[k] == ':';
    size_t op = k + colon;
    if (op >= n || s[op] == '\0' || !strchr("-?+", s[op]))
        return fail_format(in);
    const char *word = s + op + 1;
    size_t wlen = word_end(word, n - op - 1);
    if (wlen == n - op - 1 || depth >= MAX_INTERPOLATION_DEPTH)
        return fail_format(in);
    *used = op + 1 + wlen + 1;

    /* With the colon, an empty value counts as unset. */
    bool set = value && (!colon || *value);
    if (s[op] == '?' && !set)
        return fail_required(in, s, k, word, wlen, depth);
    if (s[op] == '-' && !set)
        return expand(in, word, wlen, out, depth + 1);
    if (s[op] == '+')
        return set ? expand(in, word, wlen, out, depth + 1) : 0;
    /* '-' or '?' with the variable set: its value (maybe empty, without the colon) */
    return claw_buf_str(out, value) < 0 ? fail_oom(in->err, in->file) : 0;
}

/* Appends the interpolation of s[0..n) to out. A '$' that starts neither $$, $NAME
 * nor ${...} is an error, as in Compose: a literal dollar is written $$. */
static int expand(const interp *in, const char *s, size_t n, claw_buf *out, int depth)
{
    size_t i = 0;
    while (i < n) {
        const char *dollar = memchr(s + i, '$', n - i);
        size_t d = dollar ? (size_t)(dollar - s) : n;
        if (claw_buf_add(out, s + i, d - i) < 0)
            return fail_oom(in->err, in->file);
        if (!dollar)
            break;
        i = d + 1;
        size_t k = name_length(s + i, n - i);
        if (i < n && s[i] == '$') {
            if (claw_buf_add(out, "$", 1) < 0)
                return fail_oom(in->err, in->file);
            i++;
        } else if (k > 0) {
            const char *value = lookup(in->vars, s + i, k);
            if (value && claw_buf_str(out, value) < 0)
                return fail_oom(in->err, in->file);
            i += k;
        } else if (i < n && s[i] == '{') {
            size_t used = 0;
            if (expand_braced(in, s + i + 1, n - i - 1, out, depth, &used) < 0)
                return -1;
            i += 1 + used;
        } else {
            return fail_format(in);
        }
    }
    return 0;
}

static int interpolate_string(cJSON *node, const varsrc *v, const char *file,
                              const treepath *path, claw_err *err)
{
    if (!strchr(node->valuestring, '$'))
        return 0;
    interp in = {v, file, path->buf, node->valuestring, err};
    claw_buf out = {NULL, 0, 0};
    int rc = expand(&in, node->valuestring, strlen(node->valuestring), &out, 0);
    if (rc == 0 && !cJSON_SetValuestring(node, out.len ? out.data : ""))
        rc = fail_oom(err, file);
    claw_buf_free(&out);
    return rc;
}

static void path_push(treepath *p, const char *key, size_t index)
{
    size_t room = sizeof p->buf - p->len;
    int n = key ? snprintf(p->buf + p->len, room, "%s%s", p->len ? "." : "", key)
                : snprintf(p->buf + p->len, room, "[%zu]", index);
    p->len = n < 0 || (size_t)n >= room ? sizeof p->buf - 1 : p->len + (size_t)n;
}

/* Interpolates every string value under node; keys are left alone, as in Compose. */
static int interpolate_tree(cJSON *node, const varsrc *v, const char *file, treepath *path,
                            claw_err *err)
{
    if (cJSON_IsString(node))
        return interpolate_string(node, v, file, path, err);
    size_t index = 0;
    for (cJSON *c = node->child; c; c = c->next, index++) {
        size_t len = path->len;
        path_push(path, cJSON_IsObject(node) ? c->string : NULL, index);
        int rc = interpolate_tree(c, v, file, path, err);
        path->len = len;
        path->buf[len] = '\0';
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- the .env file ---- */

static char unescape(char c) /* 0 for an escape that is kept as written */
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case '"':
        return '"';
    case '\\':
        return '\\';
    default:
        return 0;
    }
}

/* A quoted value starting at *p (the quote); *p ends past the closing quote. Double
 * quotes know \n \t \r \" \\; single quotes take everything literally. Returns 1 when
 * the quote is not closed on the line. */
static int dotenv_quoted(const char **p, claw_buf *out)
{
    char q = **p;
    const char *s = *p + 1;
    for (; *s && *s != q; s++) {
        char c = *s;
        if (q == '"' && c == '\\' && s[1] && unescape(s[1]))
            c = unescape(*++s);
        if (claw_buf_add(out, &c, 1) < 0)
            return -1;
    }
    if (*s != q)
        return 1;
    *p = s + 1;
    return 0;
}

/* An unquoted value ends at a " #" comment and loses surrounding blanks. */
static int dotenv_plain(const char *s, claw_buf *out)
{
    size_t n = 0;
    while (s[n] && !(n > 0 && s[n] == '#' && (s[n - 1] == ' ' || s[n - 1] == '\t')))
        n++;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return claw_buf_add(out, s, n);
}

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* The value after '=': 0 with out filled, 1 for an unclosed quote, 2 for text after
 * the closing quote, -1 when out of memory. */
static int dotenv_value(const char *v, claw_buf *out)
{
    v = skip_blanks(v);
    if (*v != '"' && *v != '\'')
        return dotenv_plain(v, out);
    int rc = dotenv_quoted(&v, out);
    if (rc != 0)
        return rc;
    v = skip_blanks(v);
    return *v == '\0' || *v == '#' ? 0 : 2;
}

static bool is_env_key(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || strchr("_.-", s[i])))
            return false;
    return n > 0;
}

/* Sets vars[key[0..n)] = value; a later line wins over an earlier one. */
static bool set_var(cJSON *vars, const char *key, size_t n, const char *value)
{
    char *k = strndup(key, n);
    if (!k)
        return false;
    cJSON_DeleteItemFromObjectCaseSensitive(vars, k);
    bool ok = cJSON_AddStringToObject(vars, k, value) != NULL;
    free(k);
    return ok;
}

/* Parses one line (its newline removed) into vars. */
static int dotenv_line(const char *line, cJSON *vars, const char *file, int lineno,
                       claw_err *err)
{
    const char *p = skip_blanks(line);
    if (*p == '\0' || *p == '#')
        return 0;
    if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t'))
        p = skip_blanks(p + 6);
    const char *eq = strchr(p, '=');
    size_t klen = eq ? (size_t)(eq - p) : strlen(p);
    while (klen > 0 && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
        klen--;
    if (!is_env_key(p, klen))
        return claw_fail(err, CLAW_E_PARSE, 0, "%s:%d: invalid variable name \"%.*s\"", file,
                         lineno, (int)klen, p);
    if (!eq) /* a bare NAME passes the environment's value on, which wins anyway */
        return 0;
    claw_buf value = {NULL, 0, 0};
    int rc = dotenv_value(eq + 1, &value);
    if (rc == 0 && !set_var(vars, p, klen, value.len ? value.data : ""))
        rc = -1;
    claw_buf_free(&value);
    if (rc == 1)
        return claw_fail(err, CLAW_E_PARSE, 0, "%s:%d: unterminated quoted value", file, lineno);
    if (rc == 2)
        return claw_fail(err, CLAW_E_PARSE, 0, "%s:%d: unexpected text after the closing quote",
                         file, lineno);
    return rc < 0 ? fail_oom(err, file) : 0;
}

/* Reads the .env file at path into *out (an object of strings); no file, no object. */
static int load_dotenv(const char *path, cJSON **out, claw_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : claw_fail_errno(err, errno, "cannot read %s", path);
    cJSON *vars = cJSON_CreateObject();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = vars ? 0 : fail_oom(err, path);
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        rc = dotenv_line(line, vars, path, ++lineno, err);
    }
    if (rc == 0 && ferror(f))
        rc = claw_fail_errno(err, errno, "cannot read %s", path);
    free(line);
    fclose(f);
    if (rc < 0)
        cJSON_Delete(vars);
    else
        *out = vars;
    return rc;
}

/* ---- paths and the project name ---- */

/* Removes empty, "." and ".." segments of an absolute path, in place, as Go's
 * filepath.Clean does: Compose names a project after the last segment of this path,
 * symlinks unresolved. */
static void clean_path(char *p)
{
    size_t w = 0;
    const char *r = p;
    while (*r) {
        while (*r == '/')
            r++;
        size_t n = strcspn(r, "/");
        if (n == 2 && r[0] == '.' && r[1] == '.') {
            while (w > 0 && p[w - 1] != '/')
                w--;
            w = w > 0 ? w - 1 : 0;
        } else if (n > 0 && !(n == 1 && r[0] == '.')) {
            p[w++] = '/';
            memmove(p + w, r, n);
            w += n;
        }
        r += n;
    }
    if (w == 0)
        p[w++] = '/';
    p[w] = '\0';
}

static char *absolute_path(const char *path, claw_err *err)
{
    char cwd[4096];
    claw_buf abs = {NULL, 0, 0};
    if (path[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) {
            claw_fail_errno(err, errno, "%s: cannot get the working directory", path);
            return NULL;
        }
        if (claw_buf_str(&abs, cwd) < 0 || claw_buf_add(&abs, "/", 1) < 0)
            goto oom;
    }
    if (claw_buf_str(&abs, path) < 0)
        goto oom;
    clean_path(abs.data);
    return claw_buf_take(&abs, NULL);
oom:
    claw_buf_free(&abs);
    fail_oom(err, path);
    return NULL;
}

static char *parent_dir(const char *file)
{
    const char *slash = strrchr(file, '/');
    size_t n = slash && slash > file ? (size_t)(slash - file) : 1;
    return strndup(file, n);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* compose-go's rule for a name it is given. */
static bool is_project_name(const char *s)
{
    if (!is_name_char(*s) || *s == '_' || *s == '-')
        return false;
    for (; *s; s++)
        if (!is_name_char(*s))
            return false;
    return true;
}

/* compose-go's NormalizeProjectName for the directory's base name: lowercase, keep
 * [a-z0-9_-], then drop leading '_' and '-'. */
static char *normalized_name(const char *dir)
{
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    char *name = malloc(strlen(base) + 1), *w = name;
    if (!name)
        return NULL;
    for (; *base; base++) {
        char c = (char)tolower((unsigned char)*base);
        if (is_name_char(c) && (w > name || (c != '_' && c != '-')))
            *w++ = c;
    }
    *w = '\0';
    return name;
}

/* Compose's precedence: COMPOSE_PROJECT_NAME, then `name:`, then the directory. */
static char *project_name(const cJSON *doc, const varsrc *v, const char *file, const char *dir,
                          claw_err *err)
{
    const char *given = lookup(v, "COMPOSE_PROJECT_NAME", strlen("COMPOSE_PROJECT_NAME"));
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    if (!given || !*given) {
        if (name && !cJSON_IsNull(name) && !cJSON_IsString(name)) {
            claw_fail(err, CLAW_E_INVALID, 0, "%s: name must be a string", file);
            return NULL;
        }
        given = cJSON_IsString(name) && *name->valuestring ? name->valuestring : NULL;
    }
    if (given && !is_project_name(given)) {
        claw_fail(err, CLAW_E_INVALID, 0,
                  "%s: invalid project name \"%s\": must consist only of lowercase alphanumeric "
                  "characters, hyphens, and underscores as well as start with a letter or number",
                  file, given);
        return NULL;
    }
    char *result = given ? strdup(given) : normalized_name(dir);
    if (!result) {
        fail_oom(err, file);
    } else if (!*result) {
        claw_fail(err, CLAW_E_INVALID, 0,
                  "%s: cannot derive a project name from the directory %s; set name: or "
                  "COMPOSE_PROJECT_NAME",
                  file, dir);
        free(result);
        result = NULL;
    }
    return result;
}

/* ---- the project ---- */

static int check_services(const cJSON *doc, const char *file, claw_err *err)
{
    const cJSON *services = cJSON_GetObjectItemCaseSensitive(doc, "services");
    if (!services || cJSON_IsNull(services) || (cJSON_IsObject(services) && !services->child))
        return claw_fail(err, CLAW_E_INVALID, 0, "%s: no services", file);
    if (!cJSON_IsObject(services))
        return claw_fail(err, CLAW_E_INVALID, 0, "%s: services must be a mapping", file);
    for (const cJSON *s = services->child; s; s = s->next)
        if (!cJSON_IsObject(s) && !cJSON_IsNull(s))
            return claw_fail(err, CLAW_E_INVALID, 0, "%s: services.%s must be a mapping", file,
                             s->string);
    return 0;
}

/* Gives every service its "name"; a `web:` left empty becomes {"name": "web"}. */
static bool name_services(cJSON *services)
{
    for (cJSON *s = services->child; s; s = s->next) {
        if (cJSON_IsNull(s))
            s->type = cJSON_Object; /* an empty object, with no child to free */
        cJSON_DeleteItemFromObjectCaseSensitive(s, "name");
        if (!cJSON_AddStringToObject(s, "name", s->string))
            return false;
    }
    return true;
}

static bool is_section(const char *key)
{
    static const char *const sections[] = {"services", "networks", "volumes", "secrets",
                                           "configs", NULL};
    for (const char *const *s = sections; *s; s++)
        if (strcmp(key, *s) == 0)
            return true;
    return strncmp(key, "x-", 2) == 0; /* extensions, such as a policy's settings */
}

/* Moves the sections of doc into a new project object. */
static cJSON *assemble(cJSON *doc, const char *name, const char *file, const char *dir)
{
    cJSON *project = cJSON_CreateObject();
    if (!project || !cJSON_AddStringToObject(project, "name", name) ||
        !cJSON_AddStringToObject(project, "file", file) ||
        !cJSON_AddStringToObject(project, "dir", dir))
        goto fail;
    for (cJSON *item = doc->child, *next; item; item = next) {
        next = item->next;
        if (!is_section(item->string))
            continue;
        cJSON_DetachItemViaPointer(doc, item);
        if (!cJSON_AddItemToObject(project, item->string, item)) {
            cJSON_Delete(item);
            goto fail;
        }
    }
    if (!name_services(cJSON_GetObjectItemCaseSensitive(project, "services")))
        goto fail;
    return project;
fail:
    cJSON_Delete(project);
    return NULL;
}

static cJSON *load_project(cJSON *doc, const char *path, const varsrc *v, const char *file,
                           const char *dir, claw_err *err)
{
    if (!cJSON_IsObject(doc)) {
        claw_fail(err, CLAW_E_INVALID, 0,
                  cJSON_IsNull(doc) ? "%s: no services" : "%s: the top level must be a mapping",
                  path);
        return NULL;
    }
    treepath tp = {{0}, 0};
    if (interpolate_tree(doc, v, path, &tp, err) < 0 || check_services(doc, path, err) < 0)
        return NULL;
    char *name = project_name(doc, v, path, dir, err);
    if (!name)
        return NULL;
    cJSON *project = assemble(doc, name, file, dir);
    if (!project)
        fail_oom(err, path);
    free(name);
    return project;
}

static char *join(const char *dir, const char *name)
{
    claw_buf b = {NULL, 0, 0};
    if (claw_buf_printf(&b, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0) {
        claw_buf_free(&b);
        return NULL;
    }
    return claw_buf_take(&b, NULL);
}

cJSON *claw_compose_load(const char *path, char *const *env, claw_err *err)
{
    cJSON *doc = claw_yaml_load(path, err), *dotenv = NULL, *project = NULL;
    char *file = doc ? absolute_path(path, err) : NULL;
    char *dir = file ? parent_dir(file) : NULL;
    char *envfile = dir ? join(dir, ".env") : NULL;
    if (file && !envfile)
        fail_oom(err, path);
    if (envfile && load_dotenv(envfile, &dotenv, err) == 0) {
        varsrc v = {env ? env : environ, dotenv};
        project = load_project(doc, path, &v, file, dir, err);
    }
    cJSON_Delete(dotenv);
    free(envfile);
    free(dir);
    free(file);
    cJSON_Delete(doc);
    return project;
}
