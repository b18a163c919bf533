"""The app's plumbing, used by every layer: settings (config, the only module that reads the
environment), extensions (db, mail, csrf ... created unbound), the error tree (errors), logging,
the database pool, the process runtime, URL routing, Prometheus counters (metrics), and the small
shared pieces for outside text (text), JSON from users (json_input), JSON out (serializers) and
conditional answers (conditional)."""
