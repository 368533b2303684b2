"""``smart-beauty``: retouch image files from the command line, run the local server, manage the key.

    smart-beauty retouch INPUT... [-o OUTDIR] [--level F] [--multi-face] [--api-base URL]
                                  [--backend auto|cloud|local] [--deadline S]
    smart-beauty check IMAGE...        what stands between an image and the service limits
    smart-beauty serve [--port N] [--idle-exit S] [--announce]   the local AILab server (offline engine)
    smart-beauty key set|test|delete   store (from stdin or a prompt, never argv), test, remove the key
"""
import argparse
import getpass
import os
import sys
import tempfile

import numpy as np
from tqdm import tqdm

from smart_beauty import RetouchJob, Settings, errors, imagefile, settings
from smart_beauty_py3 import backends, imaging


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except errors.SmartBeautyError as e:
        print("smart-beauty: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("smart-beauty: interrupted; no output was left half-written.", file=sys.stderr)
        return 130


def build_parser():
    parser = argparse.ArgumentParser(prog="smart-beauty", description="Portrait retouching (AILab Smart Beauty "
                                     "or the offline engine).")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("retouch", help="retouch image files")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output-dir", metavar="OUTDIR", help="write results here (default: beside each input)")
    p.add_argument("--level", type=float, default=1.0, help="beauty level 0..1 (default 1.0)")
    p.add_argument("--multi-face", action="store_true", help="retouch every face, not only the largest")
    p.add_argument("--api-base", metavar="URL", help="service address (default: AILAB_API_BASE or settings)")
    p.add_argument("--backend", choices=backends.BACKENDS, default="auto",
                   help="auto (cloud if a key is set, else offline), cloud, local")
    p.add_argument("--deadline", type=float, default=300.0, help="give up on one image after S seconds")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_retouch)

    p = sub.add_parser("check", help="check images against the service limits")
    p.add_argument("inputs", nargs="+", metavar="IMAGE")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("serve", help="run the local AILab server")
    p.add_argument("--port", type=int, default=8787, help="port; 0 picks a free one (default 8787)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--job-seconds", type=float, default=0.0)
    p.add_argument("--engine", choices=("offline", "simple"), default="offline")
    p.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="exit after SECONDS without requests (the plug-ins start it this way)")
    p.add_argument("--announce", action="store_true",
                   help="accept only a random key made for this run; print one JSON line {url, key, pid, engine}")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("key", help="store, test or delete the AILab API key")
    p.add_argument("action", choices=("set", "test", "delete", "show"))
    p.set_defaults(func=cmd_key)
    return parser


# -- retouch -----------------------------------------------------------------------------------

def output_path(src, output_dir):
    stem = os.path.splitext(os.path.basename(src))[0]
    return os.path.join(output_dir or os.path.dirname(os.path.abspath(src)), stem + ".beauty.png")


def cmd_retouch(args):
    if not 0.0 <= args.level <= 1.0:
        raise errors.BadInputError("--level must be between 0 and 1.")
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    failures = 0
    with backends.open_backend(args.backend, api_base=args.api_base) as backend:
        if not args.quiet:
            print("smart-beauty: using %s" % backend.description, file=sys.stderr)
        for src in args.inputs:
            dest = output_path(src, args.output_dir)
            try:
                retouch_file(backend.client, src, dest, args.level, args.multi_face, args.deadline,
                             show_progress=not args.quiet)
                print("%s -> %s" % (src, dest))
            except errors.SmartBeautyError as e:
                failures += 1
                print("%s: %s" % (src, e), file=sys.stderr)
    if failures:
        print("smart-beauty: %d of %d image(s) failed." % (failures, len(args.inputs)), file=sys.stderr)
    return 1 if failures else 0


def retouch_file(client, src, dest, level, multi_face, deadline, show_progress=False):
    """Retouch ``src`` into ``dest`` (PNG). Temp files are always removed; ``dest`` is written whole or
    not at all."""
    if not os.path.isfile(src):
        raise errors.BadInputError("%s does not exist or is not a file." % src)
    with tempfile.TemporaryDirectory(prefix="smart-beauty-") as work:
        prepared = imaging.prepare_upload(src, work)
        job = RetouchJob(client, prepared.path, level, multi_face, deadline=deadline, result_dir=work)
        bar = _progress_bar(src) if show_progress else None
        try:
            job.run(progress=bar.report if bar else None)
        finally:
            if bar:
                bar.close()
        result, _ = imaging.open_rgb(job.result_path)
        original, alpha = imaging.open_rgb(src)
        if prepared.scale < 1.0 or prepared.encoding != "original":
            sent, _ = imaging.open_rgb(prepared.path)
            result = imaging.recompose(original, sent, result)
        elif result.shape != original.shape:
            raise errors.BadResultError("The service returned an image of a different size (%dx%d instead of "
                                        "%dx%d); run Smart Beauty again." % (result.shape[1], result.shape[0],
                                                                            original.shape[1], original.shape[0]))
        imaging.save_png_atomic(np.ascontiguousarray(result), alpha, dest)


class _Progress:
    def __init__(self, label):
        self.label = os.path.basename(label)
        self.bar = tqdm(total=100, desc=self.label, leave=False, file=sys.stderr,
                        bar_format="{desc} {bar:20} {elapsed}")

    def report(self, event):
        self.bar.n = int(event.fraction * 100)
        self.bar.set_description_str("%s: %s" % (self.label, event.text))

    def close(self):
        self.bar.close()


def _progress_bar(label):
    return _Progress(label)


# -- other commands ----------------------------------------------------------------------------

def cmd_check(args):
    bad = 0
    for path in args.inputs:
        try:
            report = imagefile.check_limits(path)
        except errors.SmartBeautyError as e:
            print("%s: %s" % (path, e))
            bad += 1
            continue
        print("%s: %s %dx%d, %.1f KB. %s" % (path, report.info.format.upper(), report.info.width,
                                             report.info.height, report.info.size_bytes / 1024.0, report.advice()))
        bad += 0 if report.ok else 1
    return 1 if bad else 0


def cmd_serve(args):
    from smart_beauty_py3 import serve

    engine = backends.local_engine() if args.engine == "offline" else None
    return serve.serve(args.host, args.port, engine=engine, engine_name=args.engine, job_seconds=args.job_seconds,
                       announce=args.announce, idle_exit=args.idle_exit)


def cmd_key(args):
    current = Settings.load()
    if args.action == "set":
        key = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("AILab API key: ")
        path = settings.save_api_key(key)
        print("Saved the key to %s (readable by you only)." % path)
        return 0
    if args.action == "delete":
        settings.delete_api_key()
        print("Removed the stored key.")
        return 0
    if args.action == "show":
        print("Key: %s (from %s); service: %s" % (current.masked_key(), current.key_source or "nowhere",
                                                 current.base_url))
        return 0 if current.api_key else 1
    from smart_beauty import Client

    with Client(current.require_key(), current.base_url) as client:
        packs = client.credits()
    total = sum(float(p.get("balance") or 0) for p in packs if isinstance(p, dict))
    print("The key %s works; remaining credits: %g." % (current.masked_key(), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
