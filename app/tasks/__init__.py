"""Every kind of background job, declared in one list: its queue, attempts, waits and the
service call it makes. create_app installs the registry; nothing registers by import.

    workflow_tasks   create_workflow, delete_workflow                (shar-workflows)
    instance_tasks   launch_instance, complete_task, deliver_message (shar-instances)
                     bulk_operation
    sync_tasks       sync_instance, sync_instances, periodic_sync,   (shar-sync)
                     cleanup, scan_shar_instances
    notify_tasks     send_email, deliver_webhook                     (shar-notify)
    schedule         the scheduler's periodic entries (not jobs: what starts them)
"""

from __future__ import annotations

from flask import Flask

from app.jobs.specs import JobRegistry, JobSpec, install
from app.tasks import instance_tasks, notify_tasks, sync_tasks, workflow_tasks

SPECS: tuple[JobSpec, ...] = (*workflow_tasks.SPECS, *instance_tasks.SPECS, *sync_tasks.SPECS, *notify_tasks.SPECS)


def init_app(app: Flask) -> None:
    install(app, JobRegistry(SPECS))
