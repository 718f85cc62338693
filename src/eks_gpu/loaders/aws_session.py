"""The boto3 session, and the guard every AWS call of a refresh runs through.

boto3 is optional (``pip install 'eks-gpu[aws]'``) and imported only here, only when a
refresh runs, so the rest of eks-gpu never needs it. Each call may be denied on its own:
:class:`CallLedger` turns a denial into a warning naming the IAM action (that part is then
left unknown, never guessed), and bad credentials or an unreachable endpoint into one
:class:`CloudAccessError` with what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eks_gpu.catalog.aws_responses import CREDENTIAL_ERRORS, check_region, error_code, is_denied
from eks_gpu.errors import CloudAccessError, UsageError

T = TypeVar("T")

PIP_HINT = "pip install 'eks-gpu[aws]'"
CREDENTIALS_HINT = (
    "configure AWS credentials (`aws configure`, `aws sso login`, AWS_PROFILE or --profile, or "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); until then eks-gpu uses its bundled prices"
)


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError(
            "refreshing prices from AWS needs boto3, which is not installed",
            hint=f"{PIP_HINT} (bundled prices are used meanwhile)",
        ) from None
    return boto3


def make_session(region: str | None, profile: str | None) -> tuple[Any, str]:
    """A boto3 Session and its region (``--region``, else AWS_REGION or the profile's)."""
    boto3 = _import_boto3()
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:  # ProfileNotFound, a broken config file
        raise UsageError(
            f"--profile: {error}", hint="list profiles with `aws configure list-profiles`"
        ) from None
    chosen = session.region_name
    if not chosen:
        raise UsageError(
            "no AWS region", hint="pass --region, or set AWS_REGION or a region in the profile"
        )
    return session, check_region(chosen)


@dataclass
class CallLedger:
    """Runs each AWS call, turning a denied one into a warning and the rest into errors."""

    warnings: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    attempted: int = 0

    def run(self, action: str, lost: str, fetch: Callable[[], T]) -> T | None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        self.attempted += 1
        try:
            return fetch()
        except NoCredentialsError:
            raise CloudAccessError("no AWS credentials found", hint=CREDENTIALS_HINT) from None
        except ClientError as error:
            code, message = error_code(error.response)
            if is_denied(code):
                self.denied.append(action)
                self.warnings.append(f"{action} denied ({code}): {lost}")
                return None
            if code in CREDENTIAL_ERRORS:
                raise CloudAccessError(
                    f"AWS rejected the credentials: {code}: {message}", hint=CREDENTIALS_HINT
                ) from None
            raise CloudAccessError(
                f"{action} failed: {code}: {message}", hint="bundled prices are still used"
            ) from None
        except BotoCoreError as error:  # endpoint unreachable, timeouts, SSO token expired
            raise CloudAccessError(
                f"{action} failed: {error}", hint="bundled prices are still used"
            ) from None


__all__ = ["CREDENTIALS_HINT", "PIP_HINT", "CallLedger", "make_session"]
