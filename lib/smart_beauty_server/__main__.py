"""``python -m smart_beauty_server``: run the local AILab server."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from smart_beauty_server.local import DEFAULT_MAX_UPLOAD, serve_forever


def load_engine(spec):
    """``simple`` or ``package.module:attr`` (a class is instantiated with no arguments)."""
    if spec in (None, "", "simple"):
        from smart_beauty_server.simple import SimpleEngine

        return SimpleEngine()
    module, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(module), attr or "engine")
    return obj() if isinstance(obj, type) else obj


def build_parser():
    p = argparse.ArgumentParser(prog="python -m smart_beauty_server",
                                description="Local stand-in for the AILab Smart Beauty API.")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port; 0 picks a free one (default 8787)")
    p.add_argument("--job-seconds", type=float, default=2.0,
                   help="time from submit to result: 1/4 queued, 3/4 processing (default 2.0)")
    p.add_argument("--queued-seconds", type=float, default=None)
    p.add_argument("--processing-seconds", type=float, default=None)
    p.add_argument("--result-ttl", type=float, default=86400.0, help="seconds a result stays downloadable")
    p.add_argument("--api-key", action="append", default=None,
                   help="accepted API key (repeatable); default: $AILAB_API_KEY plus sb-local-test-key "
                        "on loopback. Required on a non-loopback host.")
    p.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD / (1024 * 1024),
                   help="request body limit in MiB (default 10)")
    p.add_argument("--engine", default="simple", help="'simple' or module:attr")
    p.add_argument("--control-token", default=None,
                   help="token for /_control (default: $SB_CONTROL_TOKEN, else random)")
    p.add_argument("--no-fault-keys", action="store_true", help="do not accept 'fault:...' API keys")
    p.add_argument("--print-url", action="store_true", help="print the base URL as the first stdout line")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when stdin is closed (fixtures)")
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    keys = list(args.api_key or [])
    env_key = os.environ.get("AILAB_API_KEY")
    if not keys and env_key:
        keys.append(env_key)
    from smart_beauty_server.local import DEFAULT_KEY, is_loopback

    if keys and is_loopback(args.host) and DEFAULT_KEY not in keys:
        keys.append(DEFAULT_KEY)
    try:
        return serve_forever(
            host=args.host,
            port=args.port,
            print_url=args.print_url,
            exit_on_stdin_eof=args.exit_on_stdin_eof,
            api_keys=keys or None,
            engine=load_engine(args.engine),
            job_seconds=args.job_seconds,
            queued_seconds=args.queued_seconds,
            processing_seconds=args.processing_seconds,
            result_ttl=args.result_ttl,
            max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
            control_token=args.control_token or os.environ.get("SB_CONTROL_TOKEN") or None,
            allow_fault_keys=not args.no_fault_keys,
            quiet=not args.verbose,
        )
    except (ValueError, OSError) as exc:
        print("smart-beauty server: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
