"""The HTTP client for the AILab service: one ``requests.Session``, timeouts on every call, retries
where they are safe, and nothing but :mod:`smart_beauty.errors` escaping to callers.

Retry policy (why each call is or is not retried):

* Connection failures before the request is sent (refused, DNS, connect timeout) are retried by
  urllib3's ``Retry`` for every call: nothing reached the service, so nothing can be billed twice.
* Status queries, credits queries and result downloads are idempotent: they are also retried on read
  errors, on 5xx replies that carry no AILab error body (gateways), and on rate limits
  (429 ``EXCEEDING_LIMITS``, 503 ``AI_SERVICE_FLOW_RESTRICTION``), honouring ``Retry-After``.
* A submit is **not** retried once it may have reached the service: a read error or a 5xx after the
  upload may mean the job was accepted and will cost the user credits. It is retried only when the
  service explicitly refused it for rate limiting (429 without the out-of-credits code, 503 flow
  restriction) - a refused request is not processed or billed.
* Never retried: 429 ``ERROR_NOT_ENOUGH_CREDITS`` (same status as the rate limit, told apart by
  ``error_detail.code``), bad key, bad input, no face, and a failed task reported on a poll.

The key travels only in the ``ailabapi-api-key`` header of requests to the configured service
address; redirects are not followed for those requests (``requests`` would forward a custom header
to another host), and result downloads never carry it.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import base64
import os
import random
import tempfile
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from . import errors, imagefile, protocol, settings
from .clock import SYSTEM, Waiter
from .compat import string_types, urlsplit
from .protocol import TaskState

__all__ = ["Client", "Waiter", "TaskState", "CLOUD_HAS_ONE_LEVEL"]

USER_AGENT = "smart-beauty-gimp/0.1"
MAX_REPLY_BYTES = 1024 * 1024
#: a preview's reply carries the image (base64): a dialog's reduced copy (<= 600x450, under 1 MB as PNG)
MAX_PREVIEW_REPLY_BYTES = 4 * 1024 * 1024
#: why a job with per-effect strengths is refused for the cloud (before anything is uploaded)
CLOUD_HAS_ONE_LEVEL = ("Per-effect strengths and presets need the offline engine; the AILab service has one "
                       "beauty level, so choose the offline engine or a single beauty level.")
CHUNK = 64 * 1024


def _image_part(fmt, data):
    """The multipart ``image_target`` field for image bytes of format ``fmt``."""
    return {"image_target": ("image" + imagefile.EXTENSIONS[fmt], data, imagefile.MIME_TYPES[fmt])}


class Client(object):
    """A session with the Smart Beauty service (or the local server speaking its protocol).

    ``clock``: the time every wait of this client and of its jobs uses (:mod:`smart_beauty.clock`).
    ``poll_policy``: when its jobs ask about a task (None: :func:`smart_beauty.jobs.policy_for` picks
    the shared one for this address). ``local``: the service is our own local server running the
    offline engine (:func:`smart_beauty.localserver.open_client` says so), the only one that is sent
    per-effect strengths (:meth:`submit`)."""

    def __init__(self, api_key, base_url=None, connect_timeout=10.0, read_timeout=30.0,
                 upload_timeout=120.0, max_download_bytes=64 * 1024 * 1024, status_retries=4,
                 backoff=1.0, max_backoff=30.0, clock=None, poll_policy=None, local=False):
        if not api_key:
            raise errors.ConfigError()
        self.__key = api_key
        self.base_url = settings.check_base_url(base_url or protocol.DEFAULT_BASE_URL)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.upload_timeout = upload_timeout
        self.max_download_bytes = max_download_bytes
        self.status_retries = status_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.clock = clock or SYSTEM
        self.poll_policy = poll_policy
        self.local = bool(local)
        # One pause shared by every job of this client: when the service says "slow down", all
        # concurrent jobs wait, not only the one that heard it.
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._paused_by = None   # (reply, phase) of the refusal that set the shared pause
        self.session = _VerifiedSession()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = True  # proxies and a CA bundle from the environment; verification stays on
        # Transport-level retries only for failures to *connect* (nothing was sent). Read errors and
        # statuses are retried by _api(), which knows the job's deadline and what each reply means.
        transport_retry = Retry(total=2, connect=2, read=0, status=0, redirect=0, other=0,
                                backoff_factor=0.2, raise_on_status=False)
        adapter = HTTPAdapter(max_retries=transport_retry, pool_maxsize=16)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __repr__(self):
        return "Client(base_url=%r, api_key=%s)" % (self.base_url, settings.mask(self.__key))

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def waiter(self, deadline_seconds=None, cancel_event=None):
        """A :class:`Waiter` on this client's clock."""
        return Waiter(deadline_seconds, cancel_event, self.clock)

    # -- the three calls of a job ------------------------------------------------------------

    def effects_refusal(self, effects):
        """None when this service can do ``effects`` (None, a plain level, or anything for our local
        server), else the BadInputError to raise before anything is uploaded: the AILab service has one
        beauty level, and strengths it would ignore must not be paid for as if it had done them."""
        if effects is None or self.local or effects.level() is not None:
            return None
        return errors.BadInputError(CLOUD_HAS_ONE_LEVEL)

    def submit(self, image_path, level=1.0, multi_face=False, waiter=None, effects=None):
        """Upload an image that meets the service limits; returns the task id.

        ``effects`` (:class:`smart_beauty.effects.Effects`): strengths per effect. Our local server
        (``local``) gets them as its own fields; the cloud only when they are a plain level (sent as
        ``beauty_level``), else BadInputError (:meth:`effects_refusal`), before any upload."""
        waiter = waiter or self.waiter()
        refusal = self.effects_refusal(effects)
        if refusal is not None:
            raise refusal
        level = protocol.plain_level(level, effects)
        extra = effects if self.local else None
        report = imagefile.check_limits(image_path)
        if not report.ok:
            raise errors.BadInputError(report.advice())
        with open(image_path, "rb") as f:
            data = f.read()
        fmt = report.info.format
        files = _image_part(fmt, data)
        reply = self._api("POST", protocol.SUBMIT_PATH, "submit", waiter,
                          data=protocol.submit_fields(level, multi_face, extra), files=files,
                          read_timeout=self.upload_timeout)
        task_id = reply.task_id()
        if not task_id:
            raise errors.ServiceError("The Smart Beauty service accepted the image but sent no task id; "
                                      "try again in a few minutes.", request_id=reply.request_id)
        return task_id

    def retouch_now(self, image, level=1.0, multi_face=False, effects=None, waiter=None):
        """A dialog's preview: ``image`` (PNG/JPEG bytes within the limits) retouched at once through
        the synchronous mode of our local server (no task, no polling); returns the result's bytes.
        Only for our server with the offline engine (``local``): the AILab service would charge for
        every preview, so a cloud client refuses before anything is sent."""
        if not self.local:
            raise errors.BadInputError("Previews run on the offline engine only; the AILab service would "
                                       "charge for each one.")
        waiter = waiter or self.waiter()
        level = protocol.plain_level(level, effects)
        fmt = imagefile.sniff(image) or "png"
        files = _image_part(fmt, image)
        reply = self._api("POST", protocol.SUBMIT_PATH, "submit", waiter,
                          data=protocol.submit_fields(level, multi_face, effects, task_type="sync"),
                          files=files, read_timeout=self.upload_timeout, reply_limit=MAX_PREVIEW_REPLY_BYTES)
        data = reply.body.get("data")
        encoded = data.get("image") if isinstance(data, dict) else None
        try:
            return base64.b64decode(encoded)
        except (TypeError, ValueError):
            raise errors.BadResultError("The offline engine sent no preview image; try again.")

    def query(self, task_id, waiter=None):
        """Ask once for the state of a task."""
        waiter = waiter or self.waiter()
        reply = self._api("GET", protocol.QUERY_PATH, "query", waiter, params={"task_id": task_id})
        status = reply.task_status()
        if status in protocol.PENDING_STATUSES:
            return TaskState(status, request_id=reply.request_id)
        if status == protocol.TASK_DONE:
            url = reply.result_url()
            if not url:
                raise errors.ServiceError("The service finished the task but sent no result address; "
                                          "run Smart Beauty again.", request_id=reply.request_id)
            return TaskState(status, url, reply.request_id)
        if status is None:
            raise errors.ServiceError("The Smart Beauty service sent a status reply without a task status; "
                                      "try again in a few minutes.", request_id=reply.request_id)
        # Vendor SDKs treat 3 as failed; any other value is unknown to us: either way the task is over.
        raise errors.ServiceError("The Smart Beauty service reports that the task failed (status %d); "
                                  "run Smart Beauty again." % status, request_id=reply.request_id)

    def download(self, url, directory=None, waiter=None):
        """Fetch a result (without the key) into a new temp file; returns its path.

        The file is checked to be a whole JPEG/PNG/BMP/WebP and capped at ``max_download_bytes``;
        a failed download leaves no file behind.
        """
        waiter = waiter or self.waiter()
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.BadResultError("The service sent an invalid result address; run Smart Beauty again.")
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._download_once(url, directory, waiter)
            except (errors.NetworkError, errors.BadResultError, errors.ServiceError) as e:
                delay = self._backoff_delay(attempts, None)
                if not e.retryable or attempts > 2 or not waiter.fits(delay):
                    raise
                waiter.sleep(delay)

    def credits(self, waiter=None):
        """The account's credit packs (a list of dicts), e.g. for a "Test key" button."""
        reply = self._api("GET", protocol.CREDITS_PATH, "credits", waiter or self.waiter())
        data = reply.body.get("data")
        return data if isinstance(data, list) else []

    def balance(self, waiter=None):
        """The credits left on the account, summed over its packs; None when the service lists no pack
        (a key test, Check Setup, ``smart-beauty key test``)."""
        packs = [p for p in self.credits(waiter) if isinstance(p, dict)]
        if not packs:
            return None
        return sum(float(p.get("balance") or 0) for p in packs)

    # -- transport -----------------------------------------------------------------------------

    def _api(self, method, path, phase, waiter, read_timeout=None, reply_limit=MAX_REPLY_BYTES, **kwargs):
        url = self.base_url + path
        retry = Retry(total=self.status_retries, connect=0, read=0, redirect=0,
                      status=self.status_retries, backoff_factor=self.backoff)
        attempt = 0
        while True:
            self._wait_turn(waiter)
            try:
                response = self._send(method, url, waiter, headers={protocol.KEY_HEADER: self.__key},
                                      timeout=waiter.timeout(self.connect_timeout, read_timeout or self.read_timeout),
                                      allow_redirects=False, stream=True, **kwargs)
                try:
                    content = self._read_capped(response, reply_limit)
                finally:
                    response.close()
            except errors.NetworkError as e:
                # Idempotent calls survive a broken connection or a slow answer; a submit may
                # already have reached the service, so it is never sent twice (see module doc).
                attempt += 1
                if method != "GET" or attempt > self.status_retries or not e.retryable:
                    raise
                delay = self._backoff_delay(attempt, None)
                if not waiter.fits(delay):
                    raise
                waiter.sleep(delay)
                continue
            reply = protocol.parse_reply(response.status_code, content, response.headers.get("Retry-After"))
            if reply.ok:
                return reply
            if 300 <= reply.http_status < 400:
                raise errors.ServiceError("The Smart Beauty service redirected the request, which is not "
                                          "expected; check the API base URL in your settings.",
                                          http_status=reply.http_status)
            attempt += 1
            if not self._may_retry(method, reply) or attempt > self.status_retries:
                raise self._error(reply, phase)
            delay = self._backoff_delay(attempt, _retry_after(retry, reply.retry_after))
            if reply.http_status in (429, 503):
                self._pause_all(delay, reply, phase)
            if not waiter.fits(delay):
                # The pause would outlast the job's deadline: report what the service said, not a
                # time-out the user could not act on.
                raise self._error(reply, phase)
            waiter.sleep(delay)

    @staticmethod
    def _may_retry(method, reply):
        if not protocol.is_transient(reply):
            return False
        if method == "GET":
            return True
        # A submit: only when the service explicitly refused it for rate limiting (see module doc).
        return reply.http_status == 429 or reply.code in protocol.TRANSIENT_CODES

    def _backoff_delay(self, attempt, retry_after):
        delay = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        delay *= 0.8 + 0.4 * random.random()  # jitter, so parallel jobs do not retry in lockstep
        if retry_after:
            delay = max(delay, min(float(retry_after), 300.0))
        return delay

    def _pause_all(self, delay, reply, phase):
        with self._lock:
            until = self.clock.now() + delay
            if until > self._not_before:
                self._not_before = until
                self._paused_by = (reply, phase)

    def _wait_turn(self, waiter):
        with self._lock:
            pause = self._not_before - self.clock.now()
            paused_by = self._paused_by
        if pause > 0:
            if paused_by is not None and not waiter.fits(pause):
                # Another job's refusal paused every job past this one's deadline: report what the
                # service said (as for this job's own refusal), not a time-out the user could not act on.
                raise self._error(*paused_by)
            waiter.sleep(pause)

    def _send(self, method, url, waiter, **kwargs):
        waiter.check()
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError:
            error = errors.NetworkError(
                "The secure connection to %s failed (certificate problem); check the system date and "
                "CA certificates, or your proxy." % _host(url))
            error.retryable = False  # a certificate does not get trusted by asking again
            raise error
        except requests.exceptions.Timeout as e:
            waiter.check()
            if _deadline_cut(waiter, e):   # the job is out of time, whatever the clock says
                raise waiter.out_of_time()
            raise errors.NetworkError("The Smart Beauty service at %s did not answer in time; check your "
                                      "connection and try again." % _host(url))
        except (requests.exceptions.ConnectionError, requests.exceptions.RetryError,
                requests.exceptions.ChunkedEncodingError) as e:
            waiter.check()
            if _deadline_cut(waiter, e):   # urllib3's retry reports a read time-out as a connection error
                raise waiter.out_of_time()
            raise errors.NetworkError("Could not reach the Smart Beauty service at %s; check your internet "
                                      "connection (or proxy) and try again." % _host(url))
        except requests.exceptions.RequestException:
            raise errors.NetworkError("The request to %s failed; check your connection and the service "
                                      "address, then try again." % _host(url))
        except (IOError, OSError):
            # requests raises a bare IOError/OSError for a CA bundle path that does not exist.
            raise errors.ConfigError("The CA certificate bundle set in REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE "
                                     "could not be read; fix or unset that variable and try again.")

    @staticmethod
    def _read_capped(response, limit):
        chunks, total = [], 0
        try:
            for chunk in response.iter_content(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise errors.ServiceError("The Smart Beauty service sent an unexpectedly large reply; "
                                              "try again later.", http_status=response.status_code)
                chunks.append(chunk)
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise errors.NetworkError("The connection to the Smart Beauty service broke off; check your "
                                      "connection and try again.")
        return b"".join(chunks)

    def _error(self, reply, phase):
        error = protocol.error_for(reply, phase)
        error.user_message = errors.scrub(error.user_message, self.__key)
        error.detail = errors.scrub(error.detail, self.__key)
        return error

    def _download_once(self, url, directory, waiter):
        self._wait_turn(waiter)
        response = self._send("GET", url, waiter, timeout=waiter.timeout(self.connect_timeout, self.read_timeout),
                              stream=True)
        fd, path = tempfile.mkstemp(prefix="smart-beauty-result-", suffix=".part", dir=directory)
        keep = False
        try:
            status = response.status_code
            if status in (403, 404, 410):
                raise errors.ResultExpiredError(http_status=status)
            if status in (429, 503) or status >= 500:
                raise errors.ServiceError("The result server failed (HTTP %d); run Smart Beauty again." % status,
                                          http_status=status)
            if status != 200:
                raise errors.BadResultError(http_status=status)
            expected = _int_or_none(response.headers.get("Content-Length"))
            if expected is not None and expected > self.max_download_bytes:
                raise self._too_big()
            total, head, tail = 0, b"", b""
            with os.fdopen(fd, "wb") as out:
                fd = None
                try:
                    for chunk in response.iter_content(CHUNK):
                        waiter.check()
                        total += len(chunk)
                        if total > self.max_download_bytes:
                            raise self._too_big()
                        if len(head) < 16:
                            head = (head + chunk)[:16]
                        tail = (tail + chunk)[-64:]
                        out.write(chunk)
                except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
                    raise _broke_off(total, expected)
            if expected is not None and total != expected:
                # urllib3 1.x (GIMP 2.10's vendored set) ends a short body quietly; 2.x raises (above)
                raise _broke_off(total, expected)
            fmt = imagefile.sniff(head)
            if fmt not in ("jpeg", "png", "bmp", "webp"):
                raise errors.BadResultError("The service sent something that is not an image as the result; "
                                            "run Smart Beauty again.")
            if not imagefile.looks_complete(fmt, tail):
                raise errors.BadResultError("The result image was cut off during download; run Smart Beauty "
                                            "again.")
            final = path[:-len(".part")] + imagefile.EXTENSIONS[fmt]
            os.rename(path, final)
            path = final
            keep = True
            return final
        finally:
            response.close()
            if fd is not None:
                os.close(fd)
            if not keep and os.path.exists(path):
                os.remove(path)

    def _too_big(self):
        return errors.BadResultError("The result file is larger than %d MB, which is not plausible; run Smart "
                                     "Beauty again." % (self.max_download_bytes // (1024 * 1024)))


class _VerifiedSession(requests.Session):
    """A Session whose TLS verification cannot be switched off from outside.

    ``requests`` takes ``verify`` from REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE; with requests 2.27 (the
    py2.7 set GIMP 2.10 gets) an *empty* CURL_CA_BUNDLE yields ``verify=""``, which turns
    certificate checks off. Here ``verify`` is always True (the bundled CAs) or a non-empty CA path.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        merged = requests.Session.merge_environment_settings(self, url, proxies, stream, verify, cert)
        merged["verify"] = _safe_verify(merged.get("verify"))
        return merged


# The operating system's CA bundle, where there is one: it carries the user's own (e.g. corporate)
# roots and is kept up to date, unlike the certifi copy vendored for GIMP 2.10's Python 2.7 (the
# last py2 certifi is from 2021). Elsewhere (Windows) requests' certifi bundle is used.
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                     "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")


def _default_ca():
    for path in SYSTEM_CA_BUNDLES:
        if os.path.isfile(path):
            return path
    return True


def ca_bundle(env=None):
    """``(path, source)``: the CA file this client verifies TLS with, and where that choice comes from
    (``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, ``system``, or ``certifi``); for Check Setup / doctor."""
    env = os.environ if env is None else env
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = env.get(name)
        if value:                   # requests' own order; an empty value falls through (never "off")
            if value.strip():
                return value, name
            break
    found = _default_ca()
    if found is not True:
        return found, "system"
    from requests import certs

    return certs.where(), "certifi"


def _safe_verify(value):
    if isinstance(value, string_types) and value.strip():
        return value
    return _default_ca()


def _retry_after(retry, header):
    """Seconds from a Retry-After header (seconds or an HTTP date), via urllib3; None if absent/bad."""
    if not header:
        return None
    try:
        return max(0.0, float(retry.parse_retry_after(header)))
    except Exception:  # urllib3 raises InvalidHeader (1.26: a subclass of HTTPError) on junk
        return None


def _deadline_cut(waiter, error):
    """Whether ``error`` is a connect or read time-out whose wait the job's deadline had shortened."""
    cut_connect, cut_read = waiter.cut
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)   # urllib3 wraps it in its MaxRetryError
    if isinstance(error, requests.exceptions.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return cut_read
    if isinstance(error, requests.exceptions.ConnectTimeout) or (
            isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError)):
        return cut_connect   # (urllib3 makes a refused connection a ConnectTimeoutError too)
    return False


def _host(url):
    return urlsplit(url).hostname or "the service"


def _broke_off(received, expected):
    """The download ended before its end: one sentence whichever layer noticed; the sizes go to ``detail``."""
    return errors.BadResultError("The result download broke off; run Smart Beauty again.",
                                 detail="%d of %s bytes received" % (received, expected if expected is not None
                                                                     else "an unknown number of"))


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
