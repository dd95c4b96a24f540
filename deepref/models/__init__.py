"""The nine tables' models. Importing this package also attaches their indexes."""

from deepref.models.ai import AIFinetuneDataset, AIInteraction, AIPrompt, AISession
from deepref.models.audit import AuditLog
from deepref.models.auth import AdminSession, LoginAttempt, RecoveryCode, SecondFactor
from deepref.models.base import BaseModel
from deepref.models.core import Bundle, BundleReference, KYCDocument, Reference, User
from deepref.models import indexes  # noqa: F401  (attaches the named indexes)

ALL_MODELS = [
    User,
    Reference,
    Bundle,
    BundleReference,
    KYCDocument,
    AIPrompt,
    AISession,
    AIInteraction,
    AIFinetuneDataset,
    AuditLog,
    LoginAttempt,
    AdminSession,
    SecondFactor,
    RecoveryCode,
]

__all__ = [
    "ALL_MODELS",
    "AdminSession",
    "AIFinetuneDataset",
    "AIInteraction",
    "AIPrompt",
    "AISession",
    "AuditLog",
    "BaseModel",
    "Bundle",
    "BundleReference",
    "KYCDocument",
    "LoginAttempt",
    "RecoveryCode",
    "Reference",
    "SecondFactor",
    "User",
]
