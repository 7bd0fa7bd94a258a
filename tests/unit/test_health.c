/* Health probes without Docker: URL templates, expectations on a JSON answer, the
 * address of a container out of its inspect, and the wait's rules (retries,
 * start_period, timeout, interrupts) on TCP probes of a loopback port. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "health.h"

static void url_cases(void)
{
    char out[128];
    claw_err e;
    CHECK_INT(claw_probe_url("http://{host}:{port}/api/health", "172.17.0.2", 18789, out, sizeof out, &e), 0);
    CHECK_STR(out, "http://172.17.0.2:18789/api/health");
    CHECK_INT(claw_probe_url("{host}:{port}", "fd00::2", 80, out, sizeof out, &e), 0);
    CHECK_STR(out, "[fd00::2]:80");
    CHECK_INT(claw_probe_url("http://{host}/healthz", "10.0.0.1", 0, out, sizeof out, &e), 0);
    CHECK_STR(out, "http://10.0.0.1/healthz");
    CHECK_INT(claw_probe_url("http://example.test/", NULL, 0, out, sizeof out, &e), 0);
    CHECK_STR(out, "http://example.test/");

    CHECK_INT(claw_probe_url("http://{host}:{port}/", "10.0.0.1", 0, out, sizeof out, &e), -1);
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK_STR(e.message, "no port for {port} in \"http://{host}:{port}/\"");
    CHECK_INT(claw_probe_url("http://{hots}/", "10.0.0.1", 1, out, sizeof out, &e), -1);
    CHECK_STR(e.message, "unknown placeholder in \"http://{hots}/\" (want {host} or {port})");
    CHECK_INT(claw_probe_url("http://{host}/", "", 1, out, sizeof out, &e), -1);
    CHECK_STR(e.message, "no host for {host} in \"http://{host}/\"");
    CHECK_INT(claw_probe_url("http://{host}/a-long-path", "10.0.0.1", 1, out, 16, &e), -1);
    CHECK_STR(e.message, "\"http://{host}/a-long-path\" is too long once filled");
}

/* Matches expect (JSON text) against body (JSON text); returns the message or "". */
static const char *match(const char *body, const char *expect)
{
    static claw_err e;
    cJSON *b = cJSON_Parse(body), *x = cJSON_Parse(expect);
    int rc = claw_probe_match(b, x, &e);
    cJSON_Delete(b);
    cJSON_Delete(x);
    if (rc == 0)
        return "";
    CHECK_STR(e.code, CLAW_E_UNHEALTHY);
    return e.message;
}

static void match_cases(void)
{
    const char *body = "{\"status\":\"healthy\",\"version\":\"1.0.0\",\"ok\":true,\"uptime\":12,"
                       "\"db\":{\"up\":true,\"lag\":0.5,\"name\":\"main\"},\"checks\":[{\"name\":\"disk\"}],"
                       "\"a.b\":\"literal\",\"none\":null}";
    CHECK_STR(match(body, "{}"), "");
    CHECK_STR(match(body, "{\"status\":\"healthy\"}"), "");
    CHECK_STR(match(body, "{\"status\":\"healthy\",\"ok\":true,\"uptime\":12.0}"), "");
    CHECK_STR(match(body, "{\"db.up\":true,\"db.lag\":0.5}"), "");
    CHECK_STR(match(body, "{\"db\":{\"up\":true}}"), ""); /* a nested object: a subset */
    CHECK_STR(match(body, "{\"checks.0.name\":\"disk\"}"), "");
    CHECK_STR(match(body, "{\"a.b\":\"literal\"}"), ""); /* a key with a dot in it */
    CHECK_STR(match(body, "{\"none\":null}"), "");

    CHECK_STR(match(body, "{\"status\":\"starting\"}"), "field status is \"healthy\", want \"starting\"");
    CHECK_STR(match("{\"status\":\"starting\"}", "{\"status\":\"healthy\"}"),
              "field status is \"starting\", want \"healthy\"");
    CHECK_STR(match(body, "{\"ok\":false}"), "field ok is true, want false");
    CHECK_STR(match(body, "{\"uptime\":13}"), "field uptime is 12, want 13");
    CHECK_STR(match(body, "{\"uptime\":\"12\"}"), "field uptime is 12, want \"12\"");
    CHECK_STR(match(body, "{\"db.lag\":1}"), "field db.lag is 0.5, want 1");
    CHECK_STR(match(body, "{\"db\":{\"name\":\"other\"}}"), "field db.name is \"main\", want \"other\"");
    CHECK_STR(match(body, "{\"db\":{\"missing\":1}}"), "field db.missing is missing, want 1");
    CHECK_STR(match(body, "{\"db.up.x\":true}"), "field db.up.x is missing, want true");
    CHECK_STR(match(body, "{\"checks.1.name\":\"cpu\"}"), "field checks.1.name is missing, want \"cpu\"");
    CHECK_STR(match(body, "{\"db\":\"main\"}"),
              "field db is {\"up\":true,\"lag\":0.5,\"name\":\"main\"}, want \"main\"");
    CHECK_STR(match("[1,2]", "{\"0\":1}"), ""); /* arrays are reached by index */

    claw_err e;
    cJSON *arr = cJSON_Parse("[1]"), *b = cJSON_Parse("{}");
    CHECK_INT(claw_probe_match(b, arr, &e), -1);
    CHECK_STR(e.code, CLAW_E_INVALID);
    cJSON_Delete(arr);
    cJSON_Delete(b);
}

/* The address of a container from an inspect given as JSON text, or the message
 * of the error (whose code goes to address_code). */
static const char *address_code;

static const char *address(const char *inspect, int port, const char *network, int *port_out)
{
    static char host[64];
    static claw_err e;
    cJSON *c = cJSON_Parse(inspect);
    CHECK(c != NULL);
    int rc = claw_container_address(c, port, network, host, sizeof host, port_out, &e);
    cJSON_Delete(c);
    address_code = rc == 0 ? "" : e.code;
    return rc == 0 ? host : e.message;
}

static void address_cases(void)
{
    int port;
    const char *running = "{\"Name\":\"/web\",\"State\":{\"Running\":true},"
        "\"Config\":{\"ExposedPorts\":{\"9000/udp\":{},\"18789/tcp\":{},\"8080/tcp\":{}}},"
        "\"HostConfig\":{\"NetworkMode\":\"default\"},"
        "\"NetworkSettings\":{\"Networks\":{"
        "\"backend\":{\"IPAddress\":\"\",\"GlobalIPv6Address\":\"fd00::5\"},"
        "\"bridge\":{\"IPAddress\":\"172.17.0.2\"},"
        "\"front\":{\"IPAddress\":\"172.20.0.3\"}},"
        "\"Ports\":{\"18789/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"28789\"}]}}}";
    CHECK_STR(address(running, 18789, NULL, &port), "172.17.0.2"); /* IPv4 first */
    CHECK_INT(port, 18789);
    CHECK_STR(address(running, 0, NULL, &port), "172.17.0.2");
    CHECK_INT(port, 8080); /* the lowest exposed TCP port */
    CHECK_STR(address(running, 18789, "front", &port), "172.20.0.3");
    CHECK_STR(address(running, 18789, "backend", &port), "fd00::5");
    CHECK_STR(address(running, 18789, "other", &port), "container web is not on network other");
    CHECK_STR(address_code, CLAW_E_NOT_FOUND);

    const char *published = "{\"Name\":\"/pub\",\"State\":{\"Running\":true},"
        "\"HostConfig\":{\"NetworkMode\":\"none\"},"
        "\"NetworkSettings\":{\"Networks\":{\"none\":{\"IPAddress\":\"\"}},"
        "\"Ports\":{\"80/tcp\":[{\"HostIp\":\"192.168.1.9\",\"HostPort\":\"8081\"},"
        "{\"HostIp\":\"::\",\"HostPort\":\"8080\"},{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}}}";
    CHECK_STR(address(published, 80, NULL, &port), "127.0.0.1");
    CHECK_INT(port, 8080);
    CHECK_STR(address(published, 81, NULL, &port), "container pub has no IP address and publishes no port 81");
    CHECK_STR(address(published, 0, NULL, &port), "container pub has no IP address and exposes no port");

    const char *hostnet = "{\"Name\":\"/h\",\"State\":{\"Running\":true},"
        "\"HostConfig\":{\"NetworkMode\":\"host\"},"
        "\"NetworkSettings\":{\"Networks\":{\"host\":{\"IPAddress\":\"\"}},\"Ports\":{}}}";
    CHECK_STR(address(hostnet, 18789, NULL, &port), "127.0.0.1");
    CHECK_INT(port, 18789);

    const char *stopped = "{\"Name\":\"/old\",\"State\":{\"Running\":false},"
        "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":\"\"}}}}";
    CHECK_STR(address(stopped, 80, NULL, &port), "container old is not running, so it has no address");
    CHECK_STR(address_code, CLAW_E_NOT_FOUND);
}

/* ---- probes of a loopback port ---- */

/* A listening socket on 127.0.0.1; *port receives its port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void *raise_later(void *arg)
{
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    claw_cancel_raise(arg);
    return NULL;
}

static void tcp_cases(void)
{
    claw_cancel cancel;
    CHECK_INT(claw_cancel_init(&cancel), 0);
    claw_probe_ctx cx = { .cancel = &cancel };
    claw_err e;
    int port = 0;
    int fd = listen_loopback(&port);
    CHECK(fd >= 0);
    char addr[64], want[160];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    claw_probe p = { .kind = "tcp", .target = addr };
    CHECK_INT(claw_probe_once(&cx, &p, NULL, &e), 0);
    double elapsed = -1;
    CHECK_INT(claw_probe_wait(&cx, &p, NULL, NULL, &elapsed, &e), 0);
    CHECK(elapsed >= 0 && elapsed < 0.5);
    close(fd); /* now nothing listens there: refused, at once */

    double t0 = claw_clock_monotonic();
    CHECK_INT(claw_probe_once(&cx, &p, NULL, &e), -1);
    CHECK(claw_clock_monotonic() - t0 < 0.5);
    CHECK_STR(e.code, CLAW_E_UNHEALTHY);
    snprintf(want, sizeof want, "connect %s: connection refused", addr);
    CHECK_STR(e.message, want);

    /* retries: failures in a row end the wait as unhealthy */
    claw_probe_wait_opts w = { .interval = 0.01, .retries = 3 };
    CHECK_INT(claw_probe_wait(&cx, &p, &w, NULL, &elapsed, &e), -1);
    CHECK_STR(e.code, CLAW_E_UNHEALTHY);
    snprintf(want, sizeof want, "connect %s: connection refused (3 failures in a row)", addr);
    CHECK_STR(e.message, want);
    CHECK(elapsed >= 0.02 && elapsed < 1.5);

    /* start_period: failures in it do not count */
    w = (claw_probe_wait_opts){ .interval = 0.01, .retries = 2, .start_period = 0.2 };
    CHECK_INT(claw_probe_wait(&cx, &p, &w, NULL, &elapsed, &e), -1);
    CHECK_STR(e.code, CLAW_E_UNHEALTHY);
    CHECK(elapsed >= 0.2 && elapsed < 1.5);

    /* timeout: the last reason is kept */
    w = (claw_probe_wait_opts){ .interval = 0.02, .timeout = 0.1 };
    CHECK_INT(claw_probe_wait(&cx, &p, &w, NULL, &elapsed, &e), -1);
    CHECK_STR(e.code, CLAW_E_TIMEOUT);
    snprintf(want, sizeof want, "not healthy within 0.1 s: connect %s: connection refused", addr);
    CHECK_STR(e.message, want);
    CHECK(elapsed >= 0.1 && elapsed < 1.5);

    /* an interrupt ends a wait at once, here in its 10 s sleep */
    w = (claw_probe_wait_opts){ .interval = 10, .timeout = 30 };
    pthread_t th;
    pthread_create(&th, NULL, raise_later, &cancel);
    CHECK_INT(claw_probe_wait(&cx, &p, &w, NULL, &elapsed, &e), -1);
    pthread_join(th, NULL);
    CHECK_STR(e.code, CLAW_E_INTERRUPTED);
    CHECK(elapsed < 1);
    claw_cancel_consume(&cancel);

    /* bad probes */
    const char *bad[] = { "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":80", "::1:80", "[::1]80" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p.target = bad[i];
        CHECK_INT(claw_probe_once(&cx, &p, NULL, &e), -1);
        CHECK_STR(e.code, CLAW_E_INVALID);
    }
    CHECK_STR(e.message, "invalid address \"[::1]80\" (want host:port)");
    /* An invalid probe ends a wait at once, whatever the retries. */
    CHECK_INT(claw_probe_wait(&cx, &p, &w, NULL, &elapsed, &e), -1);
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK(elapsed < 0.5);

    claw_probe other = { .kind = "ping", .target = "x" };
    CHECK_INT(claw_probe_once(&cx, &other, NULL, &e), -1);
    CHECK_STR(e.message, "unknown probe kind \"ping\" (want http, tcp, docker or exec)");
    claw_probe ftp = { .kind = "http", .target = "ftp://x/" };
    CHECK_INT(claw_probe_once(&cx, &ftp, NULL, &e), -1);
    CHECK_STR(e.message, "invalid probe URL \"ftp://x/\" (want http:// or https://)");
    claw_probe unfilled = { .kind = "http", .target = "http://{host}/" };
    CHECK_INT(claw_probe_once(&cx, &unfilled, NULL, &e), -1);
    CHECK_STR(e.message, "unfilled placeholder in probe URL \"http://{host}/\"");
    claw_probe nodocker = { .kind = "docker", .target = "web" };
    CHECK_INT(claw_probe_once(&cx, &nodocker, NULL, &e), -1);
    CHECK_STR(e.message, "a docker probe needs a Docker client");
    claw_cancel_close(&cancel);
}

int main(void)
{
    url_cases();
    match_cases();
    address_cases();
    tcp_cases();
    return check_done();
}
