"""All models, importable from one place; importing this registers every table on
``Base.metadata`` (which alembic's env.py and ``check_models_match`` rely on)."""

from storage.models.audit import AuditLog
from storage.models.ballot import (
    Ballot,
    BallotCandidate,
    BallotKind,
    BallotMark,
    BallotPaper,
    BallotStatus,
    VoterRegister,
)
from storage.models.base import CLOCK, Base, ExactDecimal, Points, UTCDateTime, utcnow
from storage.models.cluster import Cluster, ClusterKind, Unit
from storage.models.conversation import ConversationState
from storage.models.digest import DigestDeputy, DigestSent, SecretariatChat
from storage.models.outbox import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    RecipientKind,
    UnreachableChat,
)
from storage.models.people import Invite, Person, Role, RoleAssignment
from storage.models.pledge import Pledge, PledgeItem, PledgeRevision, PledgeStatus
from storage.models.reminder import ReminderMute
from storage.models.schedule import ScheduleRun
from storage.models.scoring import (
    Adjustment,
    Criterion,
    CriterionKind,
    Evidence,
    EvidenceKind,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    ScoringTable,
    SheetStatus,
)
from storage.models.tally import TallyResult
from storage.models.update import ProcessedUpdate
from storage.models.year import ChairHandover, EmulationYear, Office, Phase, PhaseKind

__all__ = [
    "CLOCK",
    "Adjustment",
    "AuditLog",
    "Ballot",
    "BallotCandidate",
    "BallotKind",
    "BallotMark",
    "BallotPaper",
    "BallotStatus",
    "Base",
    "ChairHandover",
    "Cluster",
    "ClusterKind",
    "ConversationState",
    "Criterion",
    "CriterionKind",
    "DigestDeputy",
    "DigestSent",
    "EmulationYear",
    "Evidence",
    "EvidenceKind",
    "ExactDecimal",
    "Invite",
    "Office",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "RecipientKind",
    "UnreachableChat",
    "Person",
    "Phase",
    "PhaseKind",
    "Pledge",
    "PledgeItem",
    "PledgeRevision",
    "PledgeStatus",
    "Points",
    "ProcessedUpdate",
    "ReminderMute",
    "ScheduleRun",
    "Role",
    "RoleAssignment",
    "ScoreEntry",
    "ScoreRound",
    "ScoreSheet",
    "ScoringTable",
    "SecretariatChat",
    "SheetStatus",
    "TallyResult",
    "UTCDateTime",
    "Unit",
    "VoterRegister",
    "utcnow",
]
