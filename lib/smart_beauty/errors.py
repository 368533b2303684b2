"""The error tree. Every failure a user can meet is one of these, with one sentence that says what
happened and what to do (``user_message``), plus what support needs (``request_id``, ``code``).

``str(error)`` is that sentence (with the request id when the service gave one). No error ever
carries the API key: messages are built from fixed text, and any text that came from a server is
passed through :func:`scrub` by the client, which knows the key.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import errno

from .compat import text_str, text_type

# "No space left", "disk quota exceeded", "file too large" (RLIMIT_FSIZE): the disk is full.
_DISK_FULL = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG") if hasattr(errno, name))


def is_disk_full(exc):
    """Whether the exception ``exc`` (an OSError / EnvironmentError) says a disk is full."""
    return getattr(exc, "errno", None) in _DISK_FULL


@text_str
class SmartBeautyError(Exception):
    """Base class. ``retryable`` tells batch callers whether trying the same file later may work."""

    retryable = False
    default_message = "Smart Beauty failed for an unknown reason; please try again."

    def __init__(self, user_message=None, request_id=None, code=None, http_status=None, detail=None):
        self.user_message = text_type(user_message or self.default_message)
        self.request_id = request_id or None
        self.code = code or None
        self.http_status = http_status
        # ``detail`` is extra, key-free diagnostic text (e.g. the service's own message) for logs.
        self.detail = detail
        Exception.__init__(self, self.user_message)

    def __str__(self):
        if self.request_id:
            return "%s (request id %s)" % (self.user_message, self.request_id)
        return self.user_message

    def __repr__(self):
        return "%s(%r, request_id=%r, code=%r, http_status=%r)" % (
            type(self).__name__, self.user_message, self.request_id, self.code, self.http_status)


class ConfigError(SmartBeautyError):
    default_message = ("No AILab API key is set: store one with Filters > Enhance > Smart Beauty Settings... "
                       "or set AILAB_API_KEY.")


class BadInputError(SmartBeautyError, ValueError):
    default_message = "The service could not use this image; export it as PNG or JPEG and try again."


class NoFaceError(BadInputError):
    default_message = ("No face was found in the image; use a layer with a clearly visible, "
                       "front-facing face and try again.")


class AuthError(SmartBeautyError):
    default_message = ("The AILab API key was not accepted; check it in Smart Beauty Settings... "
                       "(or AILAB_API_KEY) and try again.")


class NoCreditsError(SmartBeautyError):
    default_message = ("Your AILab account has run out of credits; top it up on ailabtools.com "
                       "and try again.")


class RateLimitError(SmartBeautyError):
    retryable = True
    default_message = "The Smart Beauty service is busy right now; wait a minute and try again."


class ServiceError(SmartBeautyError):
    retryable = True
    default_message = "The Smart Beauty service failed to process the image; try again in a few minutes."


class NetworkError(SmartBeautyError):
    retryable = True
    default_message = ("Could not reach the Smart Beauty service; check your internet connection "
                       "(or proxy) and try again.")


class JobTimeoutError(SmartBeautyError):
    retryable = True
    default_message = ("The Smart Beauty service did not finish in time; try again later "
                       "or allow it more time.")


class ResultExpiredError(SmartBeautyError):
    retryable = True
    default_message = ("The result expired on the service before it could be downloaded; "
                       "run Smart Beauty again.")


class BadResultError(SmartBeautyError):
    retryable = True
    default_message = ("The result sent by the service was incomplete or not an image; "
                       "run Smart Beauty again.")


class DiskFullError(SmartBeautyError):
    default_message = ("There is not enough free disk space for Smart Beauty's temporary files; free some "
                       "space (or point TMPDIR to another disk) and try again.")


class CancelledError(SmartBeautyError):
    default_message = "Smart Beauty was cancelled; the image was not changed."


def scrub(text, *secrets):
    """Remove every occurrence of each secret from ``text`` (used on anything a server sent)."""
    if text is None:
        return None
    text = text_type(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[key hidden]")
    return text
