from caregov.models.governance import (
    Action,
    Body,
    Decision,
    Escalation,
    Meeting,
    ReviewCycle,
    TriggerSetting,
)
from caregov.models.notices import Reminder
from caregov.models.organisation import (
    Membership,
    Organisation,
    SecurityEvent,
    Service,
    User,
    UserManager,
)
from caregov.models.passkeys import Passkey

__all__ = [
    "Action",
    "Body",
    "Decision",
    "Escalation",
    "Meeting",
    "Membership",
    "Organisation",
    "Passkey",
    "Reminder",
    "ReviewCycle",
    "SecurityEvent",
    "Service",
    "TriggerSetting",
    "User",
    "UserManager",
]
