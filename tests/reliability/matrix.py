"""The fault matrix: every fault a user can meet, as data, plus the recorded outcomes' file format.

Each fault says how to cause it (``inject``: faults of the local AILab server, see
``smart_beauty_server/faults.py``; ``base``: a different service address; ``key``; ``cancel``:
cancel once a phase is reached; ``disk_full``), the job deadline for the cell, what a user must
get (``expect``: the error class, or ``None`` when the run must recover and succeed) and whether
the failing call is retried and why (the client's policy, ``smart_beauty/client.py``).

The tests in this folder run every fault through every entry point, compare what they observe with
``outcomes.json`` (committed) and fail on any difference; ``SB_RELIABILITY_RECORD=1`` rewrites the
observed cells instead. ``scripts/reliability_doc.py`` renders ``docs/reliability.md`` from it.
"""

import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUTCOMES = os.path.join(HERE, "outcomes.json")
RECORD = os.environ.get("SB_RELIABILITY_RECORD") == "1"

MiB = 1024 * 1024


def fault(fid, title, expect, retried, why, inject=(), base=None, key=None, deadline=6.0, cancel=None,
          disk_full=False, real_gimp=False):
    return {
        "id": fid, "title": title, "expect": expect, "retried": retried, "why": why,
        "inject": [list(i) for i in inject], "base": base, "key": key, "deadline": deadline,
        "cancel": cancel, "disk_full": disk_full, "real_gimp": real_gimp,
    }


NOT_SENT = "nothing reached the service, so a repeat cannot bill twice"
IDEMPOTENT = "status queries and downloads are idempotent"
SUBMIT_ONCE = "a submit that may have reached the service is never re-sent (it costs credits)"
FINAL = "a definite answer: repeating it gives the same answer"

FAULTS = [
    fault("refused", "connection refused", "NetworkError", True,
          "urllib3 retries a refused connect twice: " + NOT_SENT, base="refused"),
    fault("dns", "DNS failure (no-such-host.invalid)", "NetworkError", True,
          "connect retries (name lookup fails before anything is sent): " + NOT_SENT, base="dns"),
    fault("connect_timeout", "connect timeout (listen backlog full)", "JobTimeoutError", True,
          "connect retries, each bounded by the job deadline: " + NOT_SENT, base="connect_timeout",
          deadline=0.5),
    fault("read_timeout", "read timeout (status query answers after 3 s)", "JobTimeoutError", False,
          "the read wait is cut at the job deadline; no time is left to retry", inject=[("delay", {"seconds": 3})],
          deadline=1.0, real_gimp=True),
    fault("tls", "TLS error: self-signed certificate", "NetworkError", False,
          "a certificate error is final (urllib3 does not retry it); the request, and so the key, is never "
          "sent", base="tls",
          real_gimp=True),
    fault("http_127_name", "plain http to a host name starting with 127. (127.attacker.invalid)", "ConfigError",
          False, "refused before any connection: only a literal loopback address (or localhost) gets the key "
          "over plain http, and a name can resolve anywhere", base="name_127"),
    fault("http_401", "401 wrong API key", "AuthError", False, FINAL, key="bad", real_gimp=True),
    fault("http_403", "403 account locked", "AuthError", False, FINAL,
          inject=[("error", {"status": 403, "code": "ERROR_USER_LOCKED"})]),
    fault("http_404", "404 wrong service address (AILab body)", "ServiceError", False, FINAL, base="wrong_path"),
    fault("no_face_422", "422 no face (on submit)", "NoFaceError", False, FINAL,
          inject=[("error", {"status": 422, "code": "ERROR_NO_FACE_IN_FILE"})], real_gimp=True),
    fault("task_failed_422", "422 no face (task fails, reported on a poll)", "NoFaceError", False,
          "a task that failed on the service stays failed", inject=[("task_failed", {})]),
    fault("no_credits_429", "429 out of credits", "NoCreditsError", False,
          "429 ERROR_NOT_ENOUGH_CREDITS is told apart from the rate limit by its code; never retried",
          inject=[("no_credits", {"retry_after": 0})], real_gimp=True),
    fault("rate_429_once", "429 rate limit, once (Retry-After: 1)", None, True,
          "a refused submit was not processed: retried after Retry-After",
          inject=[("rate_limit", {"retry_after": 1, "times": 1})], deadline=10.0, real_gimp=True),
    fault("rate_429_persistent", "429 rate limit, persistent (Retry-After: 1)", "RateLimitError", True,
          "retried until the next pause would outlast the deadline, then the service's answer is shown",
          inject=[("rate_limit", {"retry_after": 1})], deadline=2.9),
    fault("http_500_ailab_submit", "500 with AILab body on submit", "ServiceError", False, SUBMIT_ONCE,
          inject=[("error", {"status": 500, "code": "PROCESSING_FAILURE"})]),
    fault("http_500_ailab_poll", "500 with AILab body on a status query", "ServiceError", False,
          "an AILab error body on a poll means the task failed", inject=[
              ("error", {"status": 500, "code": "PROCESSING_FAILURE", "endpoint": "poll"})], real_gimp=True),
    fault("http_502_poll", "502 without body on status queries", "ServiceError", True,
          IDEMPOTENT + "; a gateway error is transient", inject=[("no_body", {"status": 502})], deadline=2.5,
          real_gimp=True),
    fault("http_503_submit", "503 without body on submit", "ServiceError", False, SUBMIT_ONCE,
          inject=[("no_body", {"status": 503, "endpoint": "submit"})]),
    fault("http_503_flow_once", "503 AILab flow restriction on a poll, once", None, True,
          "a rate limit: retried after the pause", inject=[
              ("flow_restriction", {"endpoint": "poll", "times": 1, "retry_after": 0})], deadline=10.0),
    fault("html_502", "HTML error page (502 Bad Gateway) on status queries", "ServiceError", True,
          IDEMPOTENT + "; a gateway page is transient", inject=[("html", {})], deadline=2.5, real_gimp=True),
    fault("empty_json", "empty body (200, application/json) on a poll", "ServiceError", False,
          "a 200 reply that cannot be read is not a gateway error", inject=[("empty_body", {})]),
    fault("malformed_json", "malformed JSON (200) on a poll", "ServiceError", False,
          "a 200 reply that cannot be read is not a gateway error", inject=[("malformed_json", {})],
          real_gimp=True),
    fault("unknown_status", "unknown task_status (7)", "ServiceError", False,
          "any status other than 0/1/2 ends the task", inject=[("task_status", {"value": 7})]),
    fault("stuck", "stuck task past the deadline", "JobTimeoutError", False,
          "the job polls until its deadline, then stops", inject=[("stuck", {})], deadline=1.0, real_gimp=True),
    fault("result_expired", "expired result URL (404)", "ResultExpiredError", False,
          "an expired result does not come back", inject=[("expired", {})], real_gimp=True),
    fault("result_truncated", "truncated result (connection closed mid-body)", "BadResultError", True,
          "downloads are idempotent and the file is checked whole", inject=[("truncated", {})], deadline=2.5,
          real_gimp=True),
    fault("result_not_image", "non-image result (HTML page)", "BadResultError", True,
          "downloads are idempotent: fetched again before giving up", inject=[("not_image", {})],
          deadline=2.5),
    fault("result_oversized", "oversized result (65 MiB announced)", "BadResultError", True,
          "refused from Content-Length before reading; fetched again before giving up",
          inject=[("oversized", {"size": 65 * MiB})], deadline=2.5),
    fault("drop_poll", "connection dropped on status queries", "NetworkError", True, IDEMPOTENT,
          inject=[("drop", {})], deadline=2.5),
    fault("drop_submit", "connection dropped on submit", "NetworkError", False, SUBMIT_ONCE,
          inject=[("drop", {"endpoint": "submit"})], real_gimp=True),
    fault("cancel_upload", "cancel while uploading", "CancelledError", False, "the user stopped it",
          inject=[("delay", {"seconds": 1.5, "endpoint": "submit"})], cancel="fault_hit", deadline=20.0),
    fault("cancel_queued", "cancel while queued", "CancelledError", False, "the user stopped it",
          inject=[("stuck", {"status": 0})], cancel="polled", deadline=20.0),
    fault("cancel_processing", "cancel while processing", "CancelledError", False, "the user stopped it",
          inject=[("stuck", {"status": 1})], cancel="polled", deadline=20.0),
    fault("cancel_download", "cancel while downloading", "CancelledError", False, "the user stopped it",
          inject=[("delay", {"seconds": 1.5, "endpoint": "download"})], cancel="fault_hit", deadline=20.0),
    fault("disk_full", "disk full in the temp folder (tmpfs with 8 KiB free)", "DiskFullError", False,
          "nothing to retry until space is freed", disk_full=True),
]
FAULT_IDS = [f["id"] for f in FAULTS]
BY_ID = {f["id"]: f for f in FAULTS}

ENTRIES = [
    ("cli_single", "CLI, one file"),
    ("cli_batch", "CLI, batch of 2 files"),
    ("gimp2", "GIMP 2.10 adapter (gimpfu stand-ins)"),
    ("gimp3", "GIMP 3 adapter (stand-ins)"),
    ("gimp3_real", "GIMP 3.0.4, real (chroot)"),
    ("gimp210_real", "GIMP 2.10.22 + Python-Fu, real (chroot)"),
]
REAL_ENTRIES = ("gimp3_real", "gimp210_real")
ENTRY_IDS = [e[0] for e in ENTRIES]
STAND_IN_ENTRIES = ("cli_single", "cli_batch", "gimp2", "gimp3")
# A cancel in GIMP is no cell of a stand-in: GIMP ends a plug-in whose progress bar is cancelled (it kills
# the process), so the adapters have no cancel to ask for. tests/hosts/test_e2e_real_gimp.py kills a real
# run instead (the image stays as it was; the next run removes the temp folder it left).
GIMP_KILLS_IT = "n/a: GIMP kills the plug-in"


#: What goes wrong before anything reaches the service (issue 13): the user's files, the outputs and the
#: command itself. No service fault to cause, so no cell per entry point: each case is pinned by the test
#: named here (``file::function``; test_reliability_doc checks every one exists), and the docs list them.
LOCAL_CASES = [
    ("an Adobe RGB JPEG", "sent converted to sRGB, comes back tagged; untouched pixels identical viewed "
     "colour-managed", "tests/cli/test_photo_files.py::"
     "test_adobe_rgb_jpeg_is_sent_in_srgb_and_comes_back_tagged_with_untouched_pixels_identical"),
    ("a CMYK JPEG with its profile", "converted with that profile",
     "tests/cli/test_photo_files.py::test_cmyk_jpeg_with_profile_is_converted_with_it"),
    ("EXIF, GPS and XMP", "kept (orientation applied once, reset); --strip-metadata drops them",
     "tests/cli/test_photo_files.py::test_strip_metadata_drops_exif_and_xmp_but_keeps_the_profile"),
    ("a 16-bit RGB PNG or TIFF", "comes back at 16 bits, untouched values identical",
     "tests/cli/test_photo_files.py::"
     "test_16bit_rgb_keeps_its_depth_profile_and_exif_and_untouched_pixels_at_16_bits"),
    ("a 16-bit greyscale PNG", "kept at 16 bits, not clipped to white (its face is found)",
     "tests/cli/test_photo_files.py::test_16bit_grayscale_keeps_its_depth_and_is_not_clipped_to_white"),
    ("a TIFF", "accepted by check and retouch, returned as TIFF with its profile",
     "tests/cli/test_photo_files.py::test_tiff_with_profile_round_trips_as_tiff"),
    ("an animated GIF", "refused in one sentence, nothing sent",
     "tests/cli/test_photo_files.py::test_animated_gif_is_refused_with_one_sentence_and_nothing_sent"),
    ("--format png|jpeg|tiff|same", "the output line and the report say which",
     "tests/cli/test_photo_files.py::test_format_option_names_the_output_and_the_report_says_which"),
    ("an output folder that refuses files", "one sentence before any upload: no credits spent",
     "tests/cli/test_cli_safety.py::test_an_output_folder_that_refuses_files_costs_nothing"),
    ("a report that cannot be written", "one sentence before any upload",
     "tests/cli/test_cli_safety.py::test_a_report_that_cannot_be_written_costs_nothing"),
    ("plain http to a name beginning with 127.", "refused, the key never sent (also a cell above: "
     "http_127_name)", "tests/core/test_settings.py::test_plain_http_only_to_a_literal_loopback_address"),
    ("a link planted at the temporary output name", "refused, the linked file untouched",
     "tests/cli/test_cli_safety.py::test_a_link_planted_at_the_temp_name_is_not_written_through"),
    ("another file with the same output name (resume)", "refused, not skipped as done",
     "tests/cli/test_cli_safety.py::test_another_file_with_the_same_name_is_refused_not_skipped"),
    ("doctor with a key file others can read", "NOT READY, exit status 1",
     "tests/cli/test_cli_safety.py::test_doctor_is_not_ready_with_a_key_file_others_can_read"),
    ("smart-beauty serve: fault keys, a foreign Host header", "fault keys only when asked; Host checked",
     "tests/cli/test_cli_safety.py::test_served_for_people_fault_keys_only_when_asked_and_host_checked"),
    ("serve: finished results", "kept on disk, gone when they expire",
     "tests/cli/test_cli_safety.py::test_server_results_live_on_disk_and_go_when_they_expire"),
    ("a big batch", "no image held in memory after it is written",
     "tests/cli/test_cli_safety.py::test_big_batches_keep_no_image_in_memory_after_it_is_written"),
    ("check on a missing file, a folder, an unreadable file", "one sentence each",
     "tests/cli/test_cli_safety.py::test_check_missing_folder_and_unreadable"),
    ("-o naming an existing file", "one sentence", "tests/cli/test_cli_safety.py::test_output_dir_naming_a_file"),
    ("a CSV report with a non-UTF-8 file name", "written",
     "tests/cli/test_cli_safety.py::test_csv_report_with_a_file_name_that_is_not_utf8"),
    ("a PNG over the pixel limit", "refused from its header in one sentence, no warning",
     "tests/cli/test_cli_safety.py::test_huge_png_is_refused_from_its_header"),
    ("serve --host 0.0.0.0", "one sentence",
     "tests/cli/test_cli_safety.py::test_serve_on_a_public_address_is_one_sentence"),
    ("key set KEY", "refused without echoing the key",
     "tests/cli/test_cli_safety.py::test_key_given_as_an_argument_is_refused_without_echo"),
    ("--deadline -5", "refused", "tests/cli/test_cli_safety.py::test_negative_deadline_is_refused"),
    ("key delete with nothing stored", "says so",
     "tests/cli/test_cli_safety.py::test_key_delete_with_nothing_stored_says_so"),
    ("a name clash, an interrupt", "the summary counts every input",
     "tests/cli/test_cli_safety.py::test_interrupt_summary_adds_up"),
    ("outputs and reports", "written with the umask's mode",
     "tests/cli/test_cli_safety.py::test_outputs_and_reports_follow_the_umask"),
    ("kill (SIGTERM) or a closed terminal (SIGHUP) during a batch", "jobs in flight abandoned, the temp folder "
     "removed, no output half-written, exit 128 + the signal",
     "tests/cli/test_cli_safety.py::test_a_command_ended_by_kill_or_a_closed_terminal_leaves_nothing_behind"),
    ("--help, --version", "help on every option, a version",
     "tests/cli/test_cli_safety.py::test_every_option_has_help_and_there_is_a_version"),
]


def applies(fid, entry):
    """Whether the fault ``fid`` is a cell of ``entry`` (a cancel is none of the GIMP adapters')."""
    return not (BY_ID[fid]["cancel"] and entry in ("gimp2", "gimp3"))

_REQUEST_ID = re.compile(r"\(request id [^)]*\)")
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_SECONDS = re.compile(r"\bin \d+(\.\d+)? s\b")
_TMP_PATH = re.compile(r"<tmp>[^ ;,)]*")


def normalize(text, replacements=()):
    """Stable form of a message: request ids, ports and temp paths replaced by placeholders."""
    text = _REQUEST_ID.sub("(request id <id>)", text)
    for old, new in replacements:
        if old:
            text = text.replace(old, new)
    text = _TMP_PATH.sub("<tmp>", text)
    text = _SECONDS.sub("in <t> s", text)
    return _PORT.sub(r"\1:<port>", text)


def load():
    try:
        with open(OUTCOMES) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save(cells):
    ordered = {}
    for fid in FAULT_IDS:
        if fid in cells:
            ordered[fid] = {e: cells[fid][e] for e in ENTRY_IDS if e in cells[fid]}
    with open(OUTCOMES, "w") as f:
        json.dump(ordered, f, indent=1, sort_keys=False)
        f.write("\n")


def load_module(path, name):
    """Import a file (another folder's conftest, say) once under ``name``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
