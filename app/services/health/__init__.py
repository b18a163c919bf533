"""Health, in one place: is this process alive, is the stack ready, is SHAR reachable, are the
consumers beating, and the gauges Prometheus reads.

    liveness     /healthz: the process answers and reaches its database
    readiness    /readyz: the database, the queues' storage and SHAR's last stored health
    shar         SHAR's health, probed by the scheduler and stored (it opens and closes the outage
                 breaker, app.jobs.outage); asked directly only by `flask shar health`
    heartbeats   which consumers beat lately (app.jobs.heartbeat writes the beats)
    gauges       what a /metrics scrape reads of the whole system (the counters are app.core.metrics)

Front doors (app/api/probes.py, the CLI, the admin pages) call these; none runs SQL itself.
"""
