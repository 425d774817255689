"""An RQ worker on the `media` queue whose first photo hangs, for the tests that SIGKILL it mid-job.

    SLOW_MARKER=/tmp/x python -m tests.slow_media_worker     (environment as for `flask toolbox worker`)
"""

import os
import time

from app.services import photos

_render = photos.render


def _hang_once(att):
    marker = os.environ["SLOW_MARKER"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(600)  # the test kills the worker meanwhile
    return _render(att)


photos.render = _hang_once

if __name__ == "__main__":
    from app import create_app
    from app.jobs import make_worker

    with create_app().app_context():
        make_worker(["media"]).work(with_scheduler=True)
