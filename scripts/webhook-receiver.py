#!/usr/bin/env python3
"""A webhook receiver for trying Mouthpiece's webhooks (and for its tests).

Verifies every message with the Standard Webhooks reference package (`pip install
standardwebhooks`; scripts/setup.sh puts it in .venv), prints what arrived, and appends one JSON
line per message to --log: {"id", "type", "verified", "error", "status", "body"}.

    .venv/bin/python scripts/webhook-receiver.py --port 9000 --secret whsec_... --log hooks.jsonl

--fail-first N answers HTTP 500 to the first N messages, to watch the retries.
A message whose signature does not verify is answered 401.
"""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True, help="the key's webhook signing secret, whsec_...")
    parser.add_argument("--log", help="append one JSON line per message here")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 500 to the first N messages")
    args = parser.parse_args()
    webhook = Webhook(args.secret)
    state = {"seen": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            entry = {"id": self.headers.get("webhook-id"), "verified": False, "error": None}
            try:
                message = webhook.verify(body, dict(self.headers.items()))
                entry["verified"] = True
                entry["type"] = message.get("type")
                status = 200
            except WebhookVerificationError as error:
                entry["error"] = str(error)
                status = 401
            state["seen"] += 1
            if status == 200 and state["seen"] <= args.fail_first:
                status = 500
            entry["status"] = status
            entry["body"] = body.decode("utf-8", "replace")
            print(json.dumps({k: entry[k] for k in ("id", "type", "verified", "status") if k in entry}), flush=True)
            if args.log:
                with open(args.log, "a") as out:
                    out.write(json.dumps(entry) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
