"""KYC review: approving or rejecting documents, and what that means for their users.

A decision applies to pending documents only (one decided meanwhile by someone else is
left alone and counted): status, the reviewer (the signed-in admin), the review time
(now, in verified_at) and, for a rejection, its reason, which is required. In the same
transaction each affected user's kyc_status is derived again from their documents:

- verified:  their latest identity document (passport, driver's licence or national ID)
             and their latest selfie are both verified;
- rejected:  otherwise, if the latest document of some type is rejected (the user must
             upload it again);
- submitted: otherwise, if any document is still pending;
- unchanged: a user without documents keeps their status.

"Latest" is per document type, by upload time: a new upload replaces the older one of
its type. A proof of address is optional: it never blocks "verified". Every change, to
a document or a user, has its audit row.
"""

from __future__ import annotations

from deepref.admin import errors, trail
from deepref.models import KYCDocument, User
from deepref.models.fields import utcnow

IDENTITY = ("passport", "drivers_license", "national_id")
SELFIE = "selfie"
MAX_REASON = 2000
DECISIONS = {"approve": "verified", "reject": "rejected"}


def user_status(user_id, current: str) -> str:
    """The kyc_status the user's documents call for (see the module's rule)."""
    latest: dict[str, str] = {}
    for doc in (KYCDocument.select(KYCDocument.document_type, KYCDocument.status)
                .where(KYCDocument.user == user_id)
                .order_by(KYCDocument.created_at, KYCDocument.id)):
        latest[doc.document_type] = doc.status
    if not latest:
        return current
    identity = [latest[t] for t in IDENTITY if t in latest]
    if "verified" in identity and latest.get(SELFIE) == "verified":
        return "verified"
    if "rejected" in latest.values():
        return "rejected"
    if "pending" in latest.values():
        return "submitted"
    return current


def refresh_user(user_id) -> None:
    """Store the derived kyc_status of `user_id` (audited) if it differs."""
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return
    wanted = user_status(user_id, user.kyc_status)
    if wanted != user.kyc_status:
        before = trail.snapshot(user)
        user.kyc_status = wanted
        user.save()
        changes = trail.diff(before, trail.snapshot(user))
        changes.pop("updated_at", None)
        trail.record("update", "users", str(user.id), changes)


def clean_reason(decision: str, reason: str | None) -> str | None:
    """The rejection reason to store; FriendlyError when a rejection lacks one."""
    text = (reason or "").replace("\r\n", "\n").strip()
    if decision != "reject":
        return None
    if not text:
        raise errors.FriendlyError("Give the reason for the rejection: the user will need it.",
                                   "reason")
    if len(text) > MAX_REASON or "\x00" in text:
        raise errors.FriendlyError(f"The reason must be at most {MAX_REASON} characters of text.",
                                   "reason")
    return text


def decide(ids, decision: str, reason: str | None, reviewer) -> tuple[int, int]:
    """Approve or reject the pending documents among `ids`: (decided, skipped)."""
    if decision not in DECISIONS:
        raise errors.FriendlyError("Choose to approve or to reject.")
    stored_reason = clean_reason(decision, reason)
    db = KYCDocument._meta.database
    action = "bulk" if len(ids) > 1 else "update"
    with db.serialized("deepref-kyc-review"):  # SQLite: the write lock up front
        docs = list(db.for_update(KYCDocument.select().where(KYCDocument.id.in_(list(ids)))))
        pending = [d for d in docs if d.status == "pending"]
        now = utcnow()
        for doc in pending:
            before = trail.snapshot(doc)
            doc.status = DECISIONS[decision]
            doc.reviewed_by = reviewer.id
            doc.verified_at = now
            doc.rejection_reason = stored_reason
            doc.save()
            changes = trail.diff(before, trail.snapshot(doc))
            changes.pop("updated_at", None)
            trail.record(action, "kyc_documents", str(doc.id), changes)
        for user_id in sorted({d.user_id for d in pending}, key=str):
            refresh_user(user_id)
    return len(pending), len(ids) - len(pending)
