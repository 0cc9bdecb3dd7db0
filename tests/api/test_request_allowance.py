"""The request-size allowance: one rule per view gives the byte limit and its wording."""

from visionera.api.errors import FileTooLarge
from visionera.api.views import MULTIPART_SLACK_BYTES, RequestAllowance


def test_files_get_the_multipart_slack_once():
    allowance = RequestAllowance.for_files(file_bytes=5_000_000, wording="five")
    assert allowance.max_bytes == 5_000_000 + MULTIPART_SLACK_BYTES


def test_the_limit_itself_is_allowed_one_byte_more_is_refused_with_the_wording():
    allowance = RequestAllowance.for_files(file_bytes=2_000_000, wording="the rule in words")
    assert allowance.refusal(allowance.max_bytes) is None
    refusal = allowance.refusal(allowance.max_bytes + 1)
    assert isinstance(refusal, FileTooLarge)
    assert refusal.message == "the request is 3 MB; the rule in words"

