"""A stop asked for while a child is being forked is kept, not lost (`flask shar up`, `queue start`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# In a process of its own: it installs signal handlers and an at-fork hook.
_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from app.cli.processes import Interrupted, ProcessGroup

    group = ProcessGroup()
    group.stops.listen()
    # The SIGTERM lands while subprocess runs the at-fork hooks (it does, as our children get a
    # preexec_fn): a handler raising there was printed as "Exception ignored" and dropped.
    os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM))
    group.start("child", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        group.stops.check()
    except Interrupted as stop:
        group.stop(graceful=False)
        print("stopped by", stop, "child", group.children["child"].returncode)
    else:
        print("the stop was lost")
    """
)


def test_a_signal_during_a_childs_fork_is_kept_and_acted_on() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped by SIGTERM child -15", (done.stdout, done.stderr)
    assert "Exception ignored" not in done.stderr, done.stderr
