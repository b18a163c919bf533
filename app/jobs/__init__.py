"""Background jobs: what each kind of job is (specs), how one is submitted and how it runs."""
