"""`make run`: serve the app with the embedded defaults, the periodic jobs and, in demo mode, the local
WeCom simulator.

The periodic jobs (supervision reminders, anonymisation, duplicate settling, inspection reminders …)
are queued by a background thread exactly as `flask toolbox scheduler` queues them in production;
without Redis they run in that thread, so a newcomer's demo behaves like production.

The simulator starts on the host and port of WECOM_API_BASE (default 127.0.0.1:5001) when that
is a loopback address, with the same WECOM_* settings as the app and the app's callback URL, so
`make run` works end to end whatever WECOM_* values the environment sets. Point WECOM_API_BASE at
https://qyapi.weixin.qq.com/cgi-bin/ and no simulator is started.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from urllib.parse import urlsplit

from app import create_app

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
log = logging.getLogger(__name__)


def start_scheduler(app, tick_seconds: float = 30.0) -> threading.Event:
    """Queue the periodic jobs when due, every tick, in a daemon thread; set the returned event to stop."""
    from app.extensions import db
    from app.jobs import schedule_due_jobs

    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with app.app_context():
                try:
                    queued = schedule_due_jobs()
                    if queued:
                        app.logger.info("periodic jobs run: %s", ", ".join(queued))
                except Exception:  # noqa: BLE001 - one bad tick must not end the demo's scheduler
                    log.exception("periodic jobs failed this tick")
                finally:
                    db.session.remove()
            stop.wait(tick_seconds)

    threading.Thread(target=loop, name="periodic-jobs", daemon=True).start()
    if app.config.get("REDIS_URL"):
        app.logger.info("periodic jobs are queued on Redis: run `flask toolbox worker` to execute them")
    return stop


def start_simulator(app, app_host: str, app_port: int):
    """Start the WeCom simulator in a background thread if WECOM_API_BASE is a loopback URL."""
    from app.wecom.simulator import SimulatorServer, simulator_from_config

    base = urlsplit(app.config["WECOM_API_BASE"])
    if base.hostname not in LOOPBACK:
        return None
    callback_host = "127.0.0.1" if app_host in ("0.0.0.0", "::") else app_host
    callback_url = f"http://{callback_host}:{app_port}/wecom/callback"
    try:
        server = SimulatorServer(simulator_from_config(app.config, callback_url), base.hostname,
                                 base.port or 80).start()
    except OSError as exc:
        app.logger.warning("WeCom simulator not started on %s:%s (%s); using whatever listens there",
                           base.hostname, base.port, exc)
        return None
    app.logger.info("WeCom simulator on %s (callbacks to %s)", server.url, callback_url)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Jing'an Toolbox for development.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5000)))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--no-simulator", action="store_true", help="do not start the local WeCom simulator")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run the periodic jobs in-process")
    parser.add_argument("--scheduler-tick", type=float, default=30.0, help="seconds between periodic-job checks")
    args = parser.parse_args()
    app = create_app()
    if not args.no_simulator:
        start_simulator(app, args.host, args.port)
    if not args.no_scheduler:
        start_scheduler(app, args.scheduler_tick)
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
