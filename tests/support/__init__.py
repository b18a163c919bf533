"""Real servers and processes for the tests: databases, Redis, SMTP, webhook receivers, consumers."""
