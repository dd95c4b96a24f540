"""A small, realistic demo data set for an empty console, on SQLite or PostgreSQL.

`load_demo_data()` inserts, through the models and in one transaction (all of it or
nothing), ~40 users, ~200 references, ~40 bundles, ~60 KYC documents, ~60 AI sessions
with ~300 interactions over the last 30 days, and some fine-tune entries. The same seed
gives the same rows (times are relative to now; share tokens stay random, since they
must be unguessable). Demo users' e-mails are at DEMO_DOMAIN, which is how a second run
is noticed and refused unless `append` is set. bench/generate.py makes the large,
PostgreSQL-only data set; this is for a newcomer's first look.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from pathlib import Path

import peewee as pw

from deepref import seeds
from deepref.exceptions import DeeprefError
from deepref.models import (
    AIFinetuneDataset, AIInteraction, AIPrompt, AISession, Bundle, BundleReference,
    KYCDocument, Reference, User,
)
from deepref.models.fields import utcnow

DEMO_DOMAIN = "demo.deepref.example.com"
TABLES = (User, Reference, Bundle, BundleReference, KYCDocument, AIPrompt, AISession,
          AIInteraction, AIFinetuneDataset)
COUNTS = {"users": 40, "references": 200, "bundles": 40, "ai_sessions": 60,
          "ai_interactions": 300}  # at scale 1
FIRST = ("Olivia Liam Amara Kwame Priya Arjun Yuki Haruto Sofia Mateo Fatima Omar Chloe "
         "Lucas Freya Lars Niamh Cian Linh Minh Zofia Piotr Giulia Marco Elif Mehmet Ruth "
         "Isaac Leila Reza Grace Samuel").split()
LAST = ("Smith Garcia Patel Chen Okafor Nguyen Müller Rossi Dubois Silva Kowalski Tanaka "
        "Kim Larsen Murphy Ahmed Mensah Yılmaz Horvat Johansson Reddy Santos Byrne "
        "O'Brien").split()
COMPANIES = ("Acme Globex Initech Northwind Contoso Fabrikam Hooli Tailspin Litware "
             "Woodgrove Alpine Redwood Meridian Lumen Polaris Zenith").split()
SUFFIXES = ["", "", "Labs", "Systems", "Health", "Group", "Analytics", "Logistics", "Bank"]
TITLES = ["Engineering Manager", "Senior Software Engineer", "Product Manager", "CTO",
          "Head of Design", "Data Scientist", "Operations Manager", "Account Executive",
          "Customer Success Manager", "Finance Manager", "Project Manager", "Team Lead"]
RELATIONSHIPS = [("manager", 34), ("peer", 22), ("direct report", 9), ("client", 8),
                 ("mentor", 5), ("colleague", 4), (None, 8)]
STATUSES = [("verified", 52), ("submitted", 18), ("pending", 14), ("expired", 9),
            ("rejected", 7)]
RCS = {"verified": (62, 100), "submitted": (45, 95), "rejected": (5, 55), "expired": (50, 95)}
PRAISE = """{n} consistently delivered ahead of schedule without cutting corners.
{n} communicated clearly with stakeholders at every level.
{n} mentored two junior colleagues who were both promoted within a year.
When our largest client escalated, {n} stayed calm and turned it around.
{n} took ownership of a failing project and shipped it on a realistic plan.""".splitlines()
CLOSERS = ["I would hire {n} again without hesitation.", "Any team would be lucky to have {n}.",
           "Please contact me if you would like more detail."]
STRENGTHS = ["ownership", "communication", "technical depth", "leadership", "mentoring"]
REJECTIONS = ["The document is blurred and the text cannot be read.",
              "The name on the document does not match the account.",
              "The selfie does not match the identity document."]
AGENTS = {  # session_type: (prompt_id, what the user asks, what the agent answers)
    "reference_coaching": ("reference-coach-v1", "How do I ask my manager at {c} for a "
                           "reference?", "Remind them of your work together at {c}."),
    "verification": ("verification-orchestrator-v1", "Verify the reference from {c}.",
                     "Employment at {c} confirmed through the company domain. RCS 84.5."),
    "authenticity_analysis": ("authenticity-analyzer-v1", "Was the {c} reference written "
                              "by AI?", "No signs of manipulation; AI likelihood 0.07."),
    "reference_intelligence": ("reference-intelligence-v1", "How does the {c} reference "
                               "compare?", "Top 15 percent of comparable candidates."),
}
ERRORS = ["Request timed out after 30000 ms", "Upstream model overloaded (529)",
          "Rate limit exceeded (429); retry after 20 s"]
FEEDBACK = {True: ["Clear, specific and well structured.", "Concise and actionable."],
            False: ["Too generic; ignored the company context.", "Score too high."]}


class DemoDataError(DeeprefError):
    """Demo data cannot be loaded (e.g. it is there already); nothing was written."""


def load_demo_data(seed: int = 7, scale: int = 1, append: bool = False,
                   seeds_dir: str | Path | None = None) -> dict[str, int]:
    """Insert the demo data set in one transaction; rows created per table."""
    if scale < 1:
        raise DemoDataError(f"scale must be a whole number >= 1, not {scale}")
    with User._meta.database.write_transaction():
        emails = [u.email for u in User.select(User.email).where(
            User.email.endswith("@" + DEMO_DOMAIN))]
        if emails and not append:
            raise DemoDataError(f"the database already has demo data ({len(emails)} users at "
                                f"{DEMO_DOMAIN}); `flask demo-data --append` adds more")
        # Demo e-mails are first.last.N@DEMO_DOMAIN: number new ones after the highest N.
        numbers = [email.split("@")[0].rsplit(".", 1)[-1] for email in emails]
        last = max((int(n) for n in numbers if n.isdigit()), default=0)
        demo = _Demo(random.Random(f"{seed}:{last}"), scale, last, seeds_dir)
        for step in (demo.users, demo.references, demo.bundles, demo.kyc, demo.ai):
            step()
        return demo.made


class _Demo:
    """One run: a seeded random source, the rows made so far, and the counts."""

    def __init__(self, rng, scale, offset, seeds_dir):
        self.rng, self.scale, self.offset, self.seeds_dir = rng, scale, offset, seeds_dir
        self.now = utcnow()
        self.made = {model._meta.table_name: 0 for model in TABLES}

    def id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def ago(self, days: float, upto: float = 0) -> dt.datetime:
        return self.now - dt.timedelta(days=self.rng.uniform(upto, days))

    def pick(self, weighted):
        return self.rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]

    def insert(self, model, rows: list[dict]) -> None:
        for batch in pw.chunked(rows, 50):
            model.insert_many(batch).execute()
        self.made[model._meta.table_name] += len(rows)

    def users(self):
        """Seekers, referrers and employers (no admins, no passwords) at DEMO_DOMAIN."""
        roles = [("seeker", 60), ("referrer", 25), ("employer", 15)]
        self.people = []
        kyc = [("verified", 35), ("pending", 33), ("submitted", 22), ("rejected", 10)]
        for n in range(self.offset + 1, self.offset + COUNTS["users"] * self.scale + 1):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            created = self.ago(400, 30)
            self.people.append({
                "id": self.id(), "email": f"{plain(first)}.{plain(last)}.{n}@{DEMO_DOMAIN}",
                "first_name": first, "last_name": last, "kyc_status": self.pick(kyc),
                "role": "seeker" if n % 5 == 1 else self.pick(roles),
                "email_verified": self.rng.random() < 0.9, "is_active": self.rng.random() < 0.95,
                "last_login_at": self.ago(30), "created_at": created, "updated_at": created})
        self.insert(User, self.people)
        self.seekers = [p for p in self.people if p["role"] == "seeker"]

    def references(self):
        """References of seekers: 40% from members (referrers, employers), the rest not."""
        givers = [p for p in self.people if p["role"] != "seeker"]
        self.refs = []
        for _ in range(COUNTS["references"] * self.scale):
            seeker, giver = self.rng.choice(self.seekers), None
            if self.rng.random() < 0.4:
                giver = self.rng.choice(givers)
            company = f"{self.rng.choice(COMPANIES)} {self.rng.choice(SUFFIXES)}".strip()
            first, last = ((giver["first_name"], giver["last_name"]) if giver
                           else (self.rng.choice(FIRST), self.rng.choice(LAST)))
            fmt = self.pick([("text", 80), ("video", 14), ("audio", 6)])
            status, created, ref_id = self.pick(STATUSES), self.ago(365, 1), self.id()
            submitted = None if status == "pending" else min(
                self.now, created + dt.timedelta(hours=self.rng.uniform(2, 400)))
            low, high = RCS.get(status, (0, 0))  # none while pending, nor for half the submitted
            scored = high and not (status == "submitted" and self.rng.random() < 0.5)
            text = fmt == "text"
            self.refs.append({
                "id": ref_id, "seeker": seeker["id"], "referrer": giver and giver["id"],
                "referrer_name": f"{first} {last}", "referrer_email": giver["email"] if giver
                else f"{plain(first)[0]}.{plain(last)}@{plain(company.split()[0])}.example.com",
                "company": company, "role": self.rng.choice(TITLES), "format": fmt,
                "relationship": self.pick(RELATIONSHIPS), "status": status,
                "content": " ".join([self.rng.choice(PRAISE), self.rng.choice(PRAISE),
                                     self.rng.choice(CLOSERS)]).format(n=seeker["first_name"])
                if text else None,
                "media_url": None if text else f"https://media.deepref.example.com/references/"
                                               f"{ref_id}.{'mp4' if fmt == 'video' else 'm4a'}",
                "responses": {"strengths": self.rng.choice(STRENGTHS), "years_known":
                              self.rng.randint(1, 8)} if text and submitted else {},
                "rcs_score": Decimal(f"{self.rng.uniform(low, high):.2f}") if scored else None,
                "expiry_date": self.ago(60, 1) if status == "expired"
                else created + dt.timedelta(days=730),
                "submitted_at": submitted, "created_at": created,
                "updated_at": submitted or created})
        self.insert(Reference, self.refs)

    def bundles(self):
        """Bundles of seekers with 2+ references, each linking 2-5 of that seeker's own."""
        mine: dict = {}
        for ref in self.refs:
            mine.setdefault(ref["seeker"], []).append(ref)
        owners = [s for s in self.seekers if len(mine.get(s["id"], [])) >= 2]
        bundles, links = [], []
        for _ in range(COUNTS["bundles"] * self.scale if owners else 0):
            seeker = self.rng.choice(owners)
            own = mine[seeker["id"]]
            chosen = self.rng.sample(own, min(len(own), self.rng.randint(2, 5)))
            scores = [r["rcs_score"] for r in chosen if r["rcs_score"] is not None]
            role = self.rng.choice(TITLES)
            created = min(self.now, max(r["created_at"] for r in chosen) + dt.timedelta(hours=1))
            bundles.append({
                "id": (bundle_id := self.id()), "seeker": seeker["id"],
                "title": self.rng.choice([f"References for {role} roles", "Referees",
                                          f"{chosen[0]['company']} application"]),
                "description": f"Managers and peers who can speak to my {role} work.",
                "aggregated_rcs": (sum(scores) / len(scores)).quantize(Decimal("0.01"))
                if scores else None,
                "view_count": min(5000, int(self.rng.paretovariate(1.2)) - 1),
                "is_active": self.rng.random() < 0.82, "created_at": created,
                "updated_at": created})
            links += [{"bundle": bundle_id, "reference": r["id"], "position": i,
                       "added_at": created} for i, r in enumerate(chosen)]
        self.insert(Bundle, bundles)
        self.insert(BundleReference, links)

    def kyc(self):
        """An ID and a selfie (sometimes a proof of address) per user past `pending` KYC."""
        reviewer = (User.select(User.id).where(User.role == "admin", User.is_active)
                    .order_by(User.email).first())
        documents = []
        for person in (p for p in self.people if p["kyc_status"] != "pending"):
            kinds = [self.rng.choice(["passport", "drivers_license", "national_id"]), "selfie"]
            kinds += ["proof_of_address"] if self.rng.random() < 0.3 else []
            for kind in kinds:
                status = {"submitted": "pending", "verified": "verified"}.get(
                    person["kyc_status"], "rejected" if kind == kinds[0] else "verified")
                waiting = status == "pending"  # uploaded from half an hour to two weeks ago
                created = self.ago(14, 0.02) if waiting else self.ago(300, 15)
                reviewed = None if waiting else (
                    created + dt.timedelta(hours=self.rng.uniform(1, 72)))
                documents.append({
                    "id": self.id(), "user": person["id"], "document_type": kind,
                    "status": status, "file_path": f"kyc/{person['id']}/{kind}.jpg",
                    "metadata": {"mime_type": "image/jpeg",
                                 "size_bytes": self.rng.randint(80_000, 4_000_000)},
                    "rejection_reason": self.rng.choice(REJECTIONS) if status == "rejected"
                    else None,
                    "reviewed_by": reviewer.id if reviewer and not waiting else None,
                    "verified_at": reviewed if status == "verified" else None,
                    "created_at": created, "updated_at": reviewed or created})
        self.insert(KYCDocument, documents)

    def prompts(self) -> dict[str, AIPrompt]:
        """The stored prompts by prompt_id; the four agents' seeds first if there are none."""
        columns = (AIPrompt.id, AIPrompt.prompt_id, AIPrompt.model_preference)
        if not AIPrompt.select().exists():
            found = seeds.load_prompt_seeds(self.seeds_dir or seeds.SEEDS_DIR)
            outcomes = seeds.seed_prompts(found)  # as `flask seed-prompts` does
            self.made["ai_prompts"] = sum(o.status == seeds.INSERTED for o in outcomes)
        return {p.prompt_id: p for p in AIPrompt.select(*columns).order_by(AIPrompt.prompt_id)}

    def ai(self):
        """Sessions over the last 30 days, interactions inside them, some fine-tune entries."""
        prompts = self.prompts()
        users = [p for p in self.people if p["role"] in ("seeker", "employer")]
        kinds = [("reference_coaching", 50), ("verification", 25),
                 ("authenticity_analysis", 15), ("reference_intelligence", 10)]
        sessions, interactions, finetune = [], [], []
        for _ in range(COUNTS["ai_sessions"] * self.scale):
            user, started = self.rng.choice(users), self.ago(30)
            still_open = self.now - started < dt.timedelta(hours=2) or self.rng.random() < 0.03
            sessions.append({
                "id": self.id(), "agent_id": self.id(), "user": user["id"],
                "session_type": "reference_intelligence" if user["role"] == "employer"
                else self.pick(kinds),
                "started_at": started, "ended_at": None if still_open else
                min(self.now, started + dt.timedelta(minutes=self.rng.uniform(2, 90))),
                "metadata": {"channel": self.rng.choice(["web", "web", "ios", "android"])}})
        for _ in range(COUNTS["ai_interactions"] * self.scale):
            session = self.rng.choice(sessions)
            prompt_id, asked, answer = AGENTS[session["session_type"]]
            prompt = prompts.get(prompt_id) or self.rng.choice(list(prompts.values()))
            ok, company = self.rng.random() < 0.955, self.rng.choice(COMPANIES)
            span = (session["ended_at"] or self.now) - session["started_at"]
            created = session["started_at"] + span * self.rng.random()
            interactions.append({
                "id": (interaction_id := self.id()), "session": session["id"],
                "prompt": prompt.id, "user_input": asked.format(c=company),
                "ai_response": answer.format(c=company) if ok else None,
                "model_used": prompt.model_preference if self.rng.random() < 0.94
                else "claude-haiku-4-5",
                "tokens_used": self.rng.randint(200, 3000) if ok else 0, "success": ok,
                "response_time_ms": self.rng.randint(400, 9000),
                "error_message": None if ok else self.rng.choice(ERRORS), "created_at": created})
            if ok and self.rng.random() < 0.12:
                quality = self.pick([(5, 40), (4, 35), (3, 15), (2, 6), (1, 4)])
                reviewed = min(self.now, created + dt.timedelta(days=self.rng.uniform(0, 3)))
                finetune.append({
                    "id": self.id(), "interaction": interaction_id, "quality_score": quality,
                    "human_feedback": self.rng.choice(FEEDBACK[quality >= 4])
                    if self.rng.random() < 0.45 else None,
                    "included_in_training": quality >= 4 and self.rng.random() < 0.7,
                    "created_at": reviewed, "updated_at": reviewed})
        self.insert(AISession, sessions)
        self.insert(AIInteraction, interactions)
        self.insert(AIFinetuneDataset, finetune)


def plain(word: str) -> str:
    """`word` as the ASCII local part of an e-mail address (Müller -> muller)."""
    return word.lower().translate(str.maketrans("üıé", "uie", "'"))
