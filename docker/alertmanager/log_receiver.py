"""The compose stack's example alert receiver: an Alertmanager webhook that
prints one line per alert (``docker compose logs alert-receiver``).

It stands for a real receiver (e-mail, chat, paging); it uses only the
standard library so that it runs in the stock Python image.

    python log_receiver.py [PORT [HOST]]   (default 9094 on every interface)
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def lines(payload: dict[str, object]) -> list[str]:
    """One readable line per alert of an Alertmanager webhook payload."""
    out = []
    alerts = payload.get("alerts")
    for alert in alerts if isinstance(alerts, list) else []:
        labels = alert.get("labels", {})
        notes = alert.get("annotations", {})
        out.append(
            f"{str(alert.get('status', '?')).upper()} {labels.get('alertname', '?')}"
            f" severity={labels.get('severity', '?')}: {notes.get('summary', '')}"
            f" runbook: {notes.get('runbook_url', '-')}"
        )
    return out


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(size))
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        for line in lines(payload if isinstance(payload, dict) else {}):
            print(line, flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the alerts are the log."""


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9094
    host = sys.argv[2] if len(sys.argv) > 2 else "0.0.0.0"
    ThreadingHTTPServer((host, port), Receiver).serve_forever()


if __name__ == "__main__":
    main()
