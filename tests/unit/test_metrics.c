/* The Prometheus exposition: exact text for known counters, routes and schedules,
 * label escaping, and the report records the daemon counts. tests/integration/
 * test_http_api.sh has promtool check the daemon's real output. */
#include <stdlib.h>

#include "check.h"
#include "metrics.h"

static void reports(claw_metrics *m)
{
    const char *const lines[] = {
        "{\"kind\":\"update\",\"target\":\"web\",\"outcome\":\"succeeded\"}",
        "{\"kind\":\"update\",\"target\":\"web\",\"outcome\":\"rolled_back\"}",
        "{\"kind\":\"check\",\"target\":\"web\",\"outcome\":\"update_available\"}",
        "{\"kind\":\"check\",\"target\":\"db\",\"outcome\":\"up_to_date\"}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        cJSON *r = cJSON_Parse(lines[i]);
        CHECK_INT(claw_metrics_report(m, r), 0);
        cJSON_Delete(r);
    }
    cJSON *r = cJSON_Parse("{\"kind\":\"update\",\"target\":\"web\",\"outcome\":\"updated\"}");
    CHECK_INT(claw_metrics_report(m, r), -1);
    cJSON_Delete(r);
    CHECK_INT(claw_metrics_report(m, NULL), -1);
    CHECK_INT(m->updates[CLAW_UPDATE_SUCCEEDED], 1);
    CHECK_INT(m->updates[CLAW_UPDATE_ROLLED_BACK], 1);
    CHECK_INT(m->checks[CLAW_CHECK_UPDATE_AVAILABLE], 1);
    CHECK_INT(m->checks[CLAW_CHECK_UP_TO_DATE], 1);
    CHECK_INT(m->reports_invalid, 2);
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

int main(void)
{
    claw_metrics m = { .start_time = 1700000000.5 };
    reports(&m);
    m.runs_started[CLAW_TRIGGER_SCHEDULE] = 3;
    m.runs_finished[CLAW_TRIGGER_SCHEDULE][0] = 2;
    m.runs_finished[CLAW_TRIGGER_SCHEDULE][137] = 1;
    cJSON *routes = cJSON_Parse(
        "[{\"name\":\"gw\",\"no_backend\":4,\"backends\":[{\"container\":\"a\\\"b\\\\c\",\"active\":2,"
        "\"total\":10,\"connect_failures\":1,\"resets\":0,\"bytes_in\":100,\"bytes_out\":2000}]}]");
    claw_metrics_schedule s[] = { { .name = "nightly", .skipped = 5, .next = 1700003600, .running = 1 } };
    claw_buf out;
    claw_buf_init(&out);
    claw_metrics_render(&out, &m, routes, s, 1, 1);
    const char *t = out.data;
    CHECK(has_line(t, "# HELP clawengine_updates_total Container updates the policies reported, by outcome."));
    CHECK(has_line(t, "# TYPE clawengine_updates_total counter"));
    CHECK(has_line(t, "clawengine_start_time_seconds 1700000000.5"));
    CHECK(has_line(t, "clawengine_update_runs_started_total{trigger=\"api\"} 0"));
    CHECK(has_line(t, "clawengine_update_runs_started_total{trigger=\"schedule\"} 3"));
    CHECK(has_line(t, "clawengine_update_runs_finished_total{trigger=\"schedule\",exit_code=\"0\"} 2"));
    CHECK(has_line(t, "clawengine_update_runs_finished_total{trigger=\"schedule\",exit_code=\"137\"} 1"));
    CHECK(!strstr(t, "exit_code=\"1\""));
    CHECK(has_line(t, "clawengine_update_runs_running 1"));
    CHECK(has_line(t, "clawengine_updates_total{outcome=\"rolled_back\"} 1"));
    CHECK(has_line(t, "clawengine_checks_total 2"));
    CHECK(has_line(t, "clawengine_updates_found_total 1"));
    CHECK(has_line(t, "clawengine_reports_invalid_total 2"));
    CHECK(has_line(t, "clawengine_scheduled_runs_skipped_total{schedule=\"nightly\"} 5"));
    CHECK(has_line(t, "clawengine_schedule_next_run_timestamp_seconds{schedule=\"nightly\"} 1700003600"));
    CHECK(has_line(t, "clawengine_route_connections_active{route=\"gw\",backend=\"a\\\"b\\\\c\"} 2"));
    CHECK(has_line(t, "clawengine_route_bytes_total{route=\"gw\",backend=\"a\\\"b\\\\c\",direction=\"out\"} 2000"));
    CHECK(has_line(t, "clawengine_route_no_backend_total{route=\"gw\"} 4"));
    claw_buf esc;
    claw_buf_init(&esc);
    claw_metrics_label(&esc, "a\nb\\\"");
    CHECK_STR(esc.data, "\"a\\nb\\\\\\\"\"");
    claw_buf_free(&esc);
    claw_buf_free(&out);
    cJSON_Delete(routes);
    return check_done();
}
