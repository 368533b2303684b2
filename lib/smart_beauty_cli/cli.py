"""``smart-beauty``: retouch image files from the command line, run the local server, manage the key.

    smart-beauty retouch DIR_OR_FILE... [-o OUTDIR] [--jobs N] [--force] [--report FILE.json|.csv] [--mask]
                                  [--level F | --preset NAME] [--smooth F] [--tone F] [--slim F]
                                  [--eyes F] [--lips F] [--texture F] [--multi-face] [--api-base URL]
                                  [--backend auto|cloud|local] [--deadline S]
    smart-beauty presets list|save NAME|delete NAME   named sets of strengths (offline engine)
    smart-beauty check IMAGE...        what stands between an image and the service limits
    smart-beauty serve [--port N] [--idle-exit S] [--announce] | --stop   the local AILab server (offline engine)
    smart-beauty doctor [--backend B]  check the setup (exit 0 only when a retouch would work)
    smart-beauty key set|test|delete   store (from stdin or a prompt, never argv), test, remove the key
"""
import argparse
import csv
import getpass
import json
import os
import re
import signal
import sys
import tempfile
import threading

import smart_beauty
from smart_beauty import Settings, batch, batchfiles, changemask, effects, errors, imagefile, localserver, settings
from smart_beauty_cli import backends, imaging


class _Parser(argparse.ArgumentParser):
    """argparse, except that a refused value is never echoed back: it may be an API key typed
    where it does not belong (``smart-beauty key set KEY``)."""

    def error(self, message):
        if "invalid choice" in message:
            choices = re.search(r"\(choose from .*\)\s*$", message)
            message = message.split(": invalid choice")[0] + ": invalid choice " + (
                choices.group(0) if choices else "(see '%s --help')" % self.prog)
        elif "unrecognized arguments" in message:
            message = "unrecognized arguments (see '%s --help')" % self.prog
        super().error(message)


def main(argv=None, clock=None, start_local=None):
    """``clock``: the time retouch jobs run on (``smart_beauty.clock``; the real one by default).
    ``start_local()``: how a retouch on the offline engine gets its local server (default: the shared
    one, see :func:`backends.open_backend`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock, args.start_local = clock, start_local
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
    parser = _Parser(prog="smart-beauty", description="Portrait retouching (AILab Smart Beauty or the offline "
                     "engine).")
    parser.add_argument("--version", action="version", version="smart-beauty %s" % smart_beauty.__version__,
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("retouch", help="retouch image files")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (JPEG, PNG, TIFF, BMP, WebP), folders of them (not recursive) and "
                        "patterns such as 'photos/*.jpg'")
    p.add_argument("-o", "--output-dir", metavar="OUTDIR", help="write results here (default: beside each input)")
    p.add_argument("--level", type=float, default=None,
                   help="beauty level 0..1: every effect at that strength (default 1.0); the one knob the "
                        "AILab service has")
    add_strength_options(p)
    p.add_argument("--multi-face", action="store_true", help="retouch every face, not only the largest")
    p.add_argument("--api-base", metavar="URL", help="service address (default: AILAB_API_BASE or settings)")
    p.add_argument("--backend", choices=backends.BACKENDS, default="auto",
                   help="auto (cloud if a key is set, else offline), cloud, local. The offline engine runs in "
                        "this command's own process: no server is started, nothing is left running")
    p.add_argument("--deadline", type=float, default=300.0, metavar="S",
                   help="give up on one image after S seconds (default 300)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary (the bar is only drawn "
                   "on a terminal)")
    p.add_argument("-j", "--jobs", type=int, default=batch.DEFAULT_JOBS, metavar="N",
                   help="images in flight at once (default %d, what the service suggests starting with: "
                        "jobs mostly wait on the service, so N of them go ~N times faster until it answers "
                        "'too many requests', which then slows every job down)" % batch.DEFAULT_JOBS)
    p.add_argument("--force", action="store_true",
                   help="retouch again even when the output exists (default: skip it, so a re-run resumes)")
    p.add_argument("--report", metavar="FILE",
                   help="write a per-image report (file, status, seconds, request_id, error, encoding, format...): "
                        "CSV if FILE ends in .csv, else JSON")
    p.add_argument("--format", choices=imaging.OUTPUT_FORMATS, default="png", dest="out_format",
                   help="result file format: png (default), jpeg (quality 95, no chroma subsampling), tiff, or "
                        "same (the input's own: JPEG stays JPEG, TIFF stays TIFF, others become PNG). The colour "
                        "profile, bit depth and metadata are kept where the format allows")
    p.add_argument("--strip-metadata", action="store_true",
                   help="leave EXIF and XMP (camera, date, GPS...) out of the results; the colour profile stays")
    p.add_argument("--mask", action="store_true",
                   help="also write NAME-mask.png beside each result: 8-bit gray, white where the retouch changed "
                        "the picture, soft-edged, black elsewhere (a layer mask for the result over the original)")
    p.set_defaults(func=cmd_retouch)

    p = sub.add_parser("presets", help="list, save or delete presets (named strengths per effect)")
    p.add_argument("action", choices=PRESET_ACTIONS, metavar="ACTION",
                   help="list (the built-in presets and yours, with their strengths), save NAME (from --preset "
                        "and/or the strengths given; the rest from --level, default 1.0), delete NAME")
    p.add_argument("name", nargs="?", metavar="NAME", help="the preset's name (save, delete)")
    p.add_argument("--level", type=float, default=None, help="start from every effect at this level (save)")
    add_strength_options(p)
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("check", help="check images against the service limits")
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files to check (nothing is sent)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("serve", help="run the local AILab server")
    p.add_argument("--port", type=int, default=8787, help="port; 0 picks a free one (default 8787)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on: a loopback address only (default 127.0.0.1)")
    p.add_argument("--job-seconds", type=float, default=0.0, metavar="S",
                   help="make every job take at least S seconds, like the real service (default 0)")
    p.add_argument("--engine", choices=("offline", "simple"), default="offline",
                   help="offline: the real engine (default); simple: a fast test stand-in")
    p.add_argument("--allow-fault-keys", action="store_true",
                   help="accept 'fault:...' test keys that make the server fail on purpose (for testing)")
    p.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="exit after SECONDS without requests (the plug-ins start it this way)")
    p.add_argument("--announce", action="store_true",
                   help="accept only a random key made for this run; print one JSON line {url, key, pid, engine, "
                        "version}")
    p.add_argument("--stop", action="store_true",
                   help="stop the background server the GIMP plug-ins started (it exits by itself after %d "
                        "minutes without work), and exit" % int(localserver.IDLE_EXIT // 60))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("doctor", help="check the setup; exit 0 only when a retouch would work")
    p.add_argument("--backend", choices=backends.BACKENDS, default="auto",
                   help="check for auto (default), cloud or local, as 'retouch --backend'")
    p.add_argument("--no-network", action="store_true", help="do not ask the service whether the key works")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("key", help="store, test or delete the AILab API key")
    p.add_argument("action", metavar="ACTION",
                   help="set (read the key from a prompt or stdin, never from the command line), test, delete, "
                        "show (masked)")
    p.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_key)
    return parser


# -- strengths and presets --------------------------------------------------------------------

PRESET_ACTIONS = ("list", "save", "delete")
CLOUD_HAS_ONE_LEVEL = ("Per-effect strengths and presets need the offline engine; the AILab service has one beauty "
                       "level. Use --backend local, or --level.")


def add_strength_options(p):
    p.add_argument("--preset", metavar="NAME",
                   help="start from a preset: built in (%s) or one of yours ('smart-beauty presets list'); "
                        "offline engine only" % ", ".join(sorted(effects.BUILTIN)))
    for name in effects.Effects.__slots__:
        default = (" (default: the preset's, else %g)" % effects.TEXTURE_DEFAULT if name == "texture"
                   else " (default: the preset's, else --level)")
        p.add_argument("--" + name, metavar="F", default=None,
                       help="%s, 0..1%s; offline engine only" % (effects.DESCRIPTIONS[name], default))


class Chosen:
    """What a command line asked for: ``level`` (the service's field), ``effects`` (None: a plain level,
    as before strengths existed), and ``label`` for messages ("preset natural, slim 0.00")."""

    def __init__(self, level, strengths=None, label=None, preset=None):
        self.level, self.effects, self.label, self.preset = level, strengths, label, preset

    def describe(self):
        """The suffix of a per-file line and the summary: which preset and strengths were used."""
        if self.effects is None:
            return None
        return "%s: %s" % (self.label, self.effects.describe())


def chosen_strengths(args, env=None):
    """The level and strengths from ``--level``, ``--preset`` and the per-effect options (each of those
    overrides the preset or the level); BadInputError (one sentence) for a bad value or name."""
    if args.level is not None and not 0.0 <= args.level <= 1.0:
        raise errors.BadInputError("--level must be between 0 and 1.")
    overrides = {}
    for name in effects.Effects.__slots__:
        text = getattr(args, name)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0.0 <= value <= 1.0:   # also NaN
            raise errors.BadInputError("--%s (%s) must be a number from 0 to 1, not %r." % (
                name, effects.DESCRIPTIONS[name], text))
        overrides[name] = value
    if args.preset is not None and args.level is not None:
        raise errors.BadInputError("Give --preset or --level, not both (a preset sets every strength; add "
                                   "--smooth, --slim... to change some of them).")
    level, strengths, label = effects.choose(args.level, args.preset, overrides, env)
    if strengths is None:
        return Chosen(level)
    return Chosen(level, strengths, label, effects.preset_name(args.preset) if args.preset is not None else None)


def cmd_presets(args):
    if args.action == "list":
        if args.name or args.level is not None or args.preset or any(
                getattr(args, n) is not None for n in effects.Effects.__slots__):
            raise errors.BadInputError("'smart-beauty presets list' takes no name or strengths.")
        own = effects.own_presets()
        print("Built-in presets:")
        for name in sorted(effects.BUILTIN):
            print("  %-18s %s" % (name, effects.BUILTIN[name].describe()))
        where = os.path.join(settings.config_dir(), effects.PRESETS_FILE)
        if own:
            print("Your presets (%s):" % where)
            for name in sorted(own):
                print("  %-18s %s" % (name, own[name].describe()))
        else:
            print("Your presets: none yet (save one with 'smart-beauty presets save NAME --smooth 0.6 ...').")
        print("Use one with 'smart-beauty retouch --preset NAME ...' (offline engine); --smooth, --slim... "
              "change some of its strengths.")
        return 0
    if not args.name:
        raise errors.BadInputError("'smart-beauty presets %s' needs the preset's NAME." % args.action)
    if args.action == "delete":
        key = effects.preset_name(args.name)
        if effects.delete_preset(args.name):
            print("Deleted your preset %s." % key)
            return 0
        raise errors.BadInputError("You have no preset called %r; 'smart-beauty presets list' shows them." % key)
    chosen = chosen_strengths(args)
    strengths = chosen.effects or effects.Effects.from_level(chosen.level)
    key = effects.save_preset(args.name, strengths)
    print("Saved your preset %s: %s. Use it with 'smart-beauty retouch --preset %s ...'." % (
        key, strengths.describe(), key))
    return 0


# -- retouch -----------------------------------------------------------------------------------

REPORT_FIELDS = ("file", "status", "seconds", "request_id", "error", "output", "task_id", "encoding", "scale",
                 "format", "level", "preset", "effects", "mask")
_PIL_NAMES = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}


def source_format(src):
    """The input's format from its first bytes ("JPEG", "PNG", "TIFF"...), None if unreadable."""
    try:
        with open(src, "rb") as f:
            kind = imagefile.sniff(f.read(16))
    except OSError:
        return None
    return _PIL_NAMES.get(kind or "", kind)


def output_path(src, output_dir, out_format="png"):
    """Where ``src``'s result goes (:func:`smart_beauty.batchfiles.output_path`) in ``out_format``."""
    fmt = imaging.output_format(out_format, source_format(src) if out_format == "same" else None)
    return batchfiles.output_path(src, output_dir, imaging.EXTENSIONS[fmt])


def cmd_retouch(args):
    chosen = chosen_strengths(args)
    if chosen.effects is not None and chosen.effects.level() is None and \
            localserver.resolve(args.backend, Settings.load()) == "cloud":
        raise errors.BadInputError(CLOUD_HAS_ONE_LEVEL)   # before any folder is made or file read
    if not 1 <= args.jobs <= batch.MAX_JOBS:
        raise errors.BadInputError("--jobs must be between 1 and %d." % batch.MAX_JOBS)
    if not args.deadline > 0:
        raise errors.BadInputError("--deadline must be a number of seconds above 0.")
    files = batchfiles.expand_inputs(args.inputs)
    if not files:
        raise errors.BadInputError("No image files found in %s." % ", ".join(args.inputs))
    if args.output_dir:
        check_output_dir(args.output_dir)
    if args.report:
        check_report_path(args.report)
    pairs, claimed, clashes = [], {}, []
    for src in files:
        dest = output_path(src, args.output_dir, args.out_format)
        written = [dest] + companions(dest, args.mask)
        taken = [path for path in written if path in claimed]
        if taken:
            clashes.append((src, claimed[taken[0]]))
            continue
        claimed.update((path, src) for path in written)
        pairs.append((src, dest))
    for src, other in clashes:
        print("%s: its result would overwrite the one of %s (same name); rename one of them." % (src, other),
              file=sys.stderr)
    problems = batch.output_problems(list(claimed))   # every file the kept pairs will write
    if problems:  # before anything is sent: no credits for results that could not be kept
        raise errors.BadInputError(" ".join(sorted(set(problems.values()))))
    with backends.open_backend(args.backend, api_base=args.api_base, clock=args.clock,
                               start_local=args.start_local) as backend:
        if backend.client.effects_refusal(chosen.effects) is not None:   # (the client's own check, too)
            raise errors.BadInputError(CLOUD_HAS_ONE_LEVEL)
        if not args.quiet:
            print("smart-beauty: using %s, %d job(s) at a time%s" % (
                backend.description, args.jobs, "; " + chosen.describe() if chosen.effects else ""),
                file=sys.stderr)
        run = make_batch(backend.client, pairs, chosen.level, args.multi_face, jobs=args.jobs, force=args.force,
                         deadline=args.deadline, out_format=args.out_format, strip_metadata=args.strip_metadata,
                         effects=chosen.effects, mask=args.mask)
        stopped_by = _drive(run, show_progress=not args.quiet and sys.stderr.isatty(), chosen=chosen)
    failed = run.count(batch.FAILED) + len(clashes)
    summary = run.summary(extra_failed=len(clashes))
    if args.report:
        try:
            write_report(run.items, args.report, extra=[(src, "failed", "same output name as %s" % other)
                                                        for src, other in clashes], chosen=chosen)
        except OSError as e:
            print("smart-beauty: the report %s could not be written (%s); the images themselves were written "
                  "as listed above." % (args.report, e.strerror or e), file=sys.stderr)
            failed += 1
    if stopped_by is not None:
        how = "interrupted" if stopped_by == signal.SIGINT else "stopped (%s)" % signal.Signals(stopped_by).name
        print("smart-beauty: %s: %s No output was left half-written; run the same command again to "
              "do the rest." % (how, summary), file=sys.stderr)
        return 128 + stopped_by     # the shell's code for a command a signal ended: 130 after Ctrl-C
    if failed:
        print("smart-beauty: %d of %d image(s) failed; %s" % (run.count(batch.FAILED) + len(clashes), len(files),
                                                              summary), file=sys.stderr)
        return 1
    if not args.quiet:
        print("smart-beauty: %s" % summary, file=sys.stderr)
    return 0


def check_output_dir(path):
    """-o must name a folder that exists or can be created: one sentence otherwise."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise errors.BadInputError("-o %s names a file, not a folder; give a folder for the results (it is "
                                   "created if missing)." % path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise errors.BadInputError("Cannot create the output folder %s (%s); choose another one with -o."
                                   % (path, (e.strerror or str(e)).lower())) from e


def check_report_path(path):
    """--report must name a file whose folder can take a new file: one sentence otherwise."""
    if os.path.isdir(path):
        raise errors.BadInputError("--report %s is a folder; give a file name ending in .csv or .json." % path)
    problem = batch.output_problems([path]).get(path)
    if problem:
        raise errors.BadInputError("The report cannot be written: " + problem[0].lower() + problem[1:])


def companions(output, mask):
    """The files written beside ``output``: its ``--mask`` picture (``NAME-mask.png``), or none."""
    return [changemask.mask_path(output)] if mask else []


def make_batch(client, pairs, level, multi_face, jobs=batch.DEFAULT_JOBS, force=False, deadline=300.0,
               policy=None, out_format="png", strip_metadata=False, effects=None, mask=False):
    """A :class:`smart_beauty.batch.Batch` whose steps are the CLI's: Pillow in, the chosen format out.
    ``effects``: strengths per effect (offline engine), recorded in the resume ledger's recipe.
    ``mask``: also NAME-mask.png beside each output (a companion output of the batch, in the recipe)."""
    steps = _Steps(out_format, strip_metadata, mask)
    options = {"mask": True} if mask else {}      # outputs made without --mask keep their recipe
    recipe = batch.recipe(level, multi_face, effects, format=out_format, strip_metadata=bool(strip_metadata),
                          **options)
    return batch.Batch(client, pairs, steps.prepare, steps.finish, level=level, multi_face=multi_face, jobs=jobs,
                       force=force, deadline=deadline, policy=policy, release=steps.release, recipe=recipe,
                       force_hint="use --force to replace it", effects=effects,
                       extras=lambda output: companions(output, mask))


class _Steps:
    """Prepare: read the original (profile, depth, rotation), send its sRGB 8-bit rendering (or the
    file itself when that is what the service would see). Finish: add the service's change to the
    original, in its own colour space and depth, and write it in the chosen format. The pixels are
    read again at the finish rather than held while the job waits: memory stays bounded by the jobs
    being written, whatever the size of the batch."""

    def __init__(self, out_format: str, strip_metadata: bool, mask: bool = False):
        self.out_format = out_format
        self.strip_metadata = strip_metadata
        self.mask = mask

    def _original(self, item) -> imaging.Original:
        """The headers only; :func:`imaging.prepare_original` / :func:`imaging.write_retouched` read
        the pixels when they need them."""
        if not os.path.isfile(item.source):
            raise errors.BadInputError("%s does not exist or is not a file." % item.source)
        return imaging.Original(item.source, strip_metadata=self.strip_metadata, pixels=False)

    def prepare(self, item, workdir):
        original = self._original(item)
        prepared = imaging.prepare_original(original, workdir)
        del original
        item.context["prepared"] = prepared
        item.encoding, item.scale = prepared.encoding, prepared.scale
        return prepared.path

    def finish(self, item, result_path, temp_output):
        original = self._original(item)
        fmt = imaging.output_format(self.out_format, original.format)
        changed: list | None = [] if self.mask else None
        with batch.open_temp_output(temp_output) as f:
            item.context["format"] = imaging.write_retouched(original, item.context["prepared"].path, result_path,
                                                             f, fmt, changed=changed)
        if changed:   # --mask: where the retouch changed the picture (smart_beauty.changemask)
            with batch.open_temp_output(item.temp_extras[changemask.mask_path(item.output)]) as f:
                imaging.change_mask(changed.pop()).save(f, "PNG")

    @staticmethod
    def release(item):
        prepared = item.context.pop("prepared", None)
        if prepared is not None:
            prepared.cleanup()


def write_report(items, path, extra=(), chosen=None):
    """Per-image report: CSV when ``path`` ends in .csv, else JSON (a list of objects). ``chosen``
    (:class:`Chosen`): the level, preset and strengths every row was asked for (``effects``: a dict of
    strengths in JSON, "smooth 0.50, ..." in CSV; None/empty for a plain level)."""
    used = {}
    if chosen is not None:
        strengths = chosen.effects
        used = {"level": chosen.level, "preset": chosen.preset,
                "effects": None if strengths is None else (strengths.describe() if path.lower().endswith(".csv")
                                                           else strengths.as_dict())}
    rows = [dict(item.as_row(), format=item.context.get("format"), **used,
                 mask=item.extras[0] if item.extras and item.status in (batch.DONE, batch.SKIPPED) else None)
            for item in items]
    rows += [dict({"file": src, "status": status, "error": error}, **used) for src, status, error in extra]
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".part", dir=directory)
    try:
        # File names that are not valid UTF-8 are written back as the very bytes they are made of.
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape",
                       newline="" if path.lower().endswith(".csv") else None) as f:
            if path.lower().endswith(".csv"):
                writer = csv.DictWriter(f, fieldnames=REPORT_FIELDS, extrasaction="ignore")
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in REPORT_FIELDS})
            else:
                json.dump([{k: row.get(k) for k in REPORT_FIELDS} for row in rows], f, indent=1)
                f.write("\n")
        os.chmod(tmp, batch.ordinary_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


#: what ends a run from outside besides Ctrl-C: ``kill``, ``timeout``, a closed terminal (SIGHUP)
TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _drive(run, show_progress=True, echo=True, chosen=None):
    """Run the batch on this thread with a progress bar; the first Ctrl-C stops submitting (jobs in
    flight finish), the second abandons them; SIGTERM or SIGHUP abandons them at once -- in every case
    the batch ends through its own ``finally``, so its temp folder goes and no output is half-written
    (Python's default would end the process on the spot). Returns the signal that stopped the run, or
    None. ``chosen`` (:class:`Chosen`): named on each written file's line when it has strengths."""
    todo = len(run.items) if run.force else sum(1 for i in run.items if not os.path.exists(i.output))
    bar = None
    if show_progress:
        from tqdm import tqdm  # only with a bar to show (its import is a tenth of a one-photo run)

        bar = tqdm(total=todo, unit="img", desc="smart-beauty", file=sys.stderr, dynamic_ncols=True,
                   bar_format="{desc} {bar:24} {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}] {postfix}")
    interrupts = []

    def on_sigint(signum, frame):
        interrupts.append(signum)
        run.cancel(abandon=len(interrupts) > 1)
        say = bar.write if bar is not None else (lambda text, file=None: print(text, file=file))
        if len(interrupts) == 1:
            say("smart-beauty: stopping: no new jobs; waiting for the ones in flight (Ctrl-C again to abandon "
                "them).", file=sys.stderr)
        else:
            say("smart-beauty: abandoning the jobs in flight.", file=sys.stderr)

    def on_terminate(signum, frame):
        interrupts.append(signum)
        run.cancel(abandon=True)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, on_sigint)
        for signum in TERMINATING:
            previous[signum] = signal.signal(signum, on_terminate)
    try:
        for event in run.run(tick=0.2):
            if event.kind in ("done", "failed", "cancelled") and event.item is not None:
                _echo(event, bar, echo, chosen)
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.set_postfix_str("done %d, failed %d, in flight %d" % (event.done, event.failed, event.running),
                                    refresh=event.kind != "tick")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if bar is not None:
            bar.close()
    return interrupts[-1] if interrupts else None


def _echo(event, bar, echo, chosen=None):
    item = event.item
    if event.kind == "done":
        if echo:
            line = "%s -> %s" % (item.source, item.output)
            if item.scale is not None and item.scale < 1.0:
                line += " (sent reduced to %.0f%%, %s)" % (item.scale * 100, item.encoding)
            if item.context.get("format"):
                line += " [%s]" % item.context["format"]
            if item.extras:
                line += " + mask %s" % item.extras[0]
            if chosen is not None and chosen.effects is not None:
                line += " (%s)" % chosen.describe()
            (bar.write if bar is not None else print)(line, file=sys.stdout)
    elif event.kind == "failed" or (event.kind == "cancelled" and run_was_abandoned(item)):
        line = "%s: %s" % (item.source, item.error)
        (bar.write if bar is not None else print)(line, file=sys.stderr)


def run_was_abandoned(item):
    return item.task_id is not None  # cancelled after its upload, not merely never started


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


SERVE_HOST_REFUSED = ("smart-beauty serve listens on this computer only (a loopback address such as 127.0.0.1 or "
                      "::1), not on %s: it has a public test key and no TLS; keep the default --host.")


def cmd_serve(args):
    if args.stop:
        print("Stopped the offline engine's background server." if localserver.stop()
              else "No offline engine server was running.")
        return 0
    # The engine first: it reads its networks on a thread of its own (OpenCV, without the interpreter
    # lock) while Werkzeug is imported below.
    engine = backends.engine(args.engine)
    from smart_beauty_server import serve
    from smart_beauty_server import is_loopback

    if not is_loopback(args.host):
        raise errors.ConfigError(SERVE_HOST_REFUSED % args.host)
    if not 0 <= args.port <= 65535:
        raise errors.BadInputError("--port must be between 0 and 65535 (0 picks a free one).")
    try:
        return serve.serve(args.host, args.port, engine=engine, engine_name=args.engine,
                           job_seconds=args.job_seconds, announce=args.announce, idle_exit=args.idle_exit,
                           allow_fault_keys=args.allow_fault_keys)
    except OSError as e:
        raise errors.ConfigError("Cannot listen on %s port %d (%s); choose another --port (0 picks a free one)."
                                 % (args.host, args.port, (e.strerror or str(e)).lower())) from e


def cmd_doctor(args):
    from smart_beauty import doctor

    report = doctor.run(backend=args.backend, check_network=not args.no_network)
    print(report.text())
    return 0 if report.ready else 1


KEY_ACTIONS = ("set", "test", "delete", "show")


def cmd_key(args):
    if args.action not in KEY_ACTIONS:  # never echoed: it may be the key itself
        raise errors.BadInputError("'smart-beauty key' takes set, test, delete or show; to store your key run "
                                   "'smart-beauty key set' and paste it at the prompt.")
    if args.extra:
        raise errors.BadInputError("The key is never taken from the command line (it would stay in your shell "
                                   "history); run 'smart-beauty key %s' alone%s." % (
                                       args.action, " and paste the key at the prompt, or pipe it in"
                                       if args.action == "set" else ""))
    if args.action == "set":
        key = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("AILab API key: ")
        path = settings.save_api_key(key)
        print("Saved the key to %s (readable by you only)." % path)
        return 0
    if args.action == "delete":
        path = settings.delete_api_key()
        if path is None:
            print("No key was stored in %s; nothing to remove." % settings.config_dir())
        else:
            print("Removed the stored key (%s)." % path)
        if os.environ.get(settings.ENV_KEY):
            print("Note: AILAB_API_KEY is set in your environment and is still used; unset it to stop using it.")
        return 0
    current = Settings.load()
    if args.action == "show":
        print("Key: %s (from %s); service: %s" % (current.masked_key(), current.key_source or "nowhere",
                                                 current.base_url))
        return 0 if current.api_key else 1
    with localserver.open_client("cloud", current) as client:
        total = client.balance()
    print("The key %s works; remaining credits: %g." % (current.masked_key(), total or 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
