"""durable.patterns: the application patterns of Durable Functions as building blocks.

Each pattern is a helper to await (or yield) inside any orchestrator, a spec
class that checks its arguments when it is built, and a ``register_*``
function that registers a ready-made orchestrator for the common case:

- chaining (`run_chain`, `Chain`, `register_chain`): steps in order, with
  retries and saga compensation;
- fan-out/fan-in (`fan_out`, `FanOut`, `register_fan_out`): an activity or
  sub-orchestrator over many items, bounded, results in input order;
- async HTTP API (`check_status_response`; `call_http_async`,
  `register_http`): the 202 + status-URL answer of a start endpoint, and
  polling an external endpoint that answers 202 + ``Location``;
- monitor (`monitor`, `Monitor`, `register_monitor`): poll until a condition
  holds or an expiry passes, continuing as new to keep history small;
- human interaction (`request_approval`, `Approval`, `register_approval`):
  an approval with reminders, reassignment and a deadline; in general
  (`wait_for_reply`, `Reply`): ask, wait for an accepted event, run your own
  escalation actions at their delays, give up at a deadline.

Durations are `timedelta` or ISO 8601 text (``"PT30M"``, ``"P3D"``). The
package uses only the public API of `durable`.
"""

from durable.patterns.approval import Approval, register_approval, request_approval
from durable.patterns.approval_model import (
    ApprovalAnswer,
    ApprovalNotice,
    ApprovalOutcome,
    ApprovalResult,
    Escalation,
    EscalationAction,
    IgnoredAnswer,
    NoticeKind,
)
from durable.patterns.async_http import (
    HttpRequest,
    HttpResponse,
    call_http_async,
    http_activity,
    register_http,
)
from durable.patterns.chaining import Chain, Step, register_chain, run_chain
from durable.patterns.check_status import (
    CheckStatusResponse,
    check_status_response,
    management_urls,
)
from durable.patterns.durations import Duration, parse_duration, positive_duration
from durable.patterns.errors import ChainStepError, FanOutError, HttpPollTimeoutError
from durable.patterns.fan_out import (
    FailurePolicy,
    FanOut,
    FanOutResult,
    ItemFailure,
    fan_out,
    register_fan_out,
)
from durable.patterns.interaction import Reply, wait_for_reply
from durable.patterns.monitor import (
    Monitor,
    MonitorOutcome,
    MonitorProgress,
    MonitorReport,
    MonitorResult,
    monitor,
    register_monitor,
)

__all__ = [
    "Approval",
    "ApprovalAnswer",
    "ApprovalNotice",
    "ApprovalOutcome",
    "ApprovalResult",
    "Chain",
    "ChainStepError",
    "CheckStatusResponse",
    "Duration",
    "Escalation",
    "EscalationAction",
    "FailurePolicy",
    "FanOut",
    "FanOutError",
    "FanOutResult",
    "HttpPollTimeoutError",
    "HttpRequest",
    "HttpResponse",
    "IgnoredAnswer",
    "ItemFailure",
    "Monitor",
    "MonitorOutcome",
    "MonitorProgress",
    "MonitorReport",
    "MonitorResult",
    "NoticeKind",
    "Reply",
    "Step",
    "call_http_async",
    "check_status_response",
    "fan_out",
    "http_activity",
    "management_urls",
    "monitor",
    "parse_duration",
    "positive_duration",
    "register_approval",
    "register_chain",
    "register_fan_out",
    "register_http",
    "register_monitor",
    "request_approval",
    "run_chain",
    "wait_for_reply",
]
