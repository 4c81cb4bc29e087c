"""Errors a plugin may raise or catch, by the names and modules of Sym's SDK. The host
reports an error a handler raises with its class name and message."""

from sym.sdk.exceptions.sym_exception import ExceptionWithHint, SymException
from sym.sdk.exceptions.access_strategy import AccessStrategyError
from sym.sdk.exceptions.aptible import AptibleError
from sym.sdk.exceptions.aws import AWSError, AWSLambdaError, AWSIAMError, AWSSSOError
from sym.sdk.exceptions.boundary import BoundaryError
from sym.sdk.exceptions.github import GitHubError
from sym.sdk.exceptions.google import GoogleError
from sym.sdk.exceptions.http import HTTPError
from sym.sdk.exceptions.identity import IdentityError, CouldNotSaveError
from sym.sdk.exceptions.jira import JiraError
from sym.sdk.exceptions.knowbe4 import KnowBe4Error
from sym.sdk.exceptions.okta import OktaError
from sym.sdk.exceptions.onelogin import OneLoginError
from sym.sdk.exceptions.pagerduty import PagerDutyError
from sym.sdk.exceptions.sdk import SDKError, MissingArgument
from sym.sdk.exceptions.slack import SlackError
from sym.sdk.exceptions.sym_integration import SymIntegrationError

__all__ = [
    "AWSError",
    "AWSIAMError",
    "AWSLambdaError",
    "AWSSSOError",
    "AccessStrategyError",
    "AptibleError",
    "BoundaryError",
    "CouldNotSaveError",
    "ExceptionWithHint",
    "GitHubError",
    "GoogleError",
    "HTTPError",
    "IdentityError",
    "JiraError",
    "KnowBe4Error",
    "MissingArgument",
    "OktaError",
    "OneLoginError",
    "PagerDutyError",
    "SDKError",
    "SlackError",
    "SymException",
    "SymIntegrationError",
]
