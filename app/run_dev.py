"""`make run`: serve the app with the embedded defaults (and the WeCom simulator, once it exists)."""

from __future__ import annotations

import argparse
import os

from app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Jing'an Toolbox for development.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5000)))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    args = parser.parse_args()
    app = create_app()
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
