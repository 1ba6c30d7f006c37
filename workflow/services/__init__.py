"""The processing desk's state changes: each one a named function with an explicit actor.

Every function here checks the actor's rights (:mod:`tenancy.access`), locks the case,
moves it along the lifecycle (:func:`~workflow.services.base.case_move`, the one writer of its
status), makes the change, writes a timeline event and an audit event, all in one transaction;
e-mails go out as tasks committed with it. A refused action raises :class:`ActionRefused` and
changes nothing.

Lifecycle of a case::

    registered → assigned → in progress → answered → closed
                    ↑   ↘        ↕ (once)
                    │    awaiting completion
    (sent back)     └── rejected (from assigned, in progress or awaiting completion)
"""

from workflow.selectors import calendar_for
from workflow.services.answers import (
    case_complete,
    case_reply,
    case_reply_draft,
    case_request_completion,
    internal_note_send,
)
from workflow.services.base import (
    BODY_MAX,
    REASON_MAX,
    TRANSITIONS,
    ActionRefused,
    LetterText,
    Terms,
    action_allowed,
    may_handle,
    next_status,
    offered_actions,
    procedure_for_deposit,
)
from workflow.services.deposits import (
    Deposit,
    completion_deposit,
    deposit_register,
    deposits_register,
)
from workflow.services.requests import (
    request_register,
)
from workflow.services.routing import (
    agent_candidates,
    case_assign,
    case_assign_agent,
    case_close,
    case_comment,
    case_send_back,
    case_start,
    cases_assign,
)
from workflow.services.silence import (
    attestation_issue,
    silence_acceptance_on,
)

__all__ = [
    "BODY_MAX",
    "REASON_MAX",
    "TRANSITIONS",
    "ActionRefused",
    "Deposit",
    "LetterText",
    "Terms",
    "action_allowed",
    "agent_candidates",
    "attestation_issue",
    "calendar_for",
    "case_assign",
    "case_assign_agent",
    "case_close",
    "case_comment",
    "case_complete",
    "case_reply",
    "case_reply_draft",
    "case_request_completion",
    "case_send_back",
    "case_start",
    "cases_assign",
    "completion_deposit",
    "deposit_register",
    "deposits_register",
    "internal_note_send",
    "may_handle",
    "next_status",
    "offered_actions",
    "procedure_for_deposit",
    "request_register",
    "silence_acceptance_on",
]
