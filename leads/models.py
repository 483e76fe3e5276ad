from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower


class Seniority(models.TextChoices):
    C_LEVEL = "c_level", "C-level"
    VP = "vp", "VP"
    DIRECTOR = "director", "Director"
    MANAGER = "manager", "Manager"
    INDIVIDUAL = "individual", "Individual contributor"
    OTHER = "other", "Other"


class Source(models.TextChoices):
    WEB = "web", "Web"
    PAID_SEARCH = "paid_search", "Paid search"
    PAID_SOCIAL = "paid_social", "Paid social"
    EMAIL = "email", "E-mail"
    EVENT = "event", "Event"
    WEBINAR = "webinar", "Webinar"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    OUTBOUND = "outbound", "Outbound"
    OTHER = "other", "Other"


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Persona(models.Model):
    """A kind of buyer both teams agreed to target ("Head of Operations at a mid-size firm")."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Market(models.Model):
    """A target market: a set of countries and industries."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    countries = models.JSONField(default=list, blank=True, help_text="ISO 3166-1 alpha-2 codes.")
    industries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=20, choices=Source.choices, default=Source.OTHER)
    utm_campaign = models.CharField(max_length=200, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_campaigns",
        help_text="The marketer told when sales rejects one of the campaign's leads (else every marketer).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CampaignCost(models.Model):
    """What a campaign cost in one month (the first day of the month stands for the month)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="costs")
    month = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["campaign", "month"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="campaign_cost_per_month"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="campaign_cost_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1), name="campaign_cost_month_is_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.month:%Y-%m}: {self.amount}"


# TRICKY: a change's timestamp (``updated_at``, an activity's ``created_at``) is taken as its request starts,
# and the change commits up to a few seconds later; a score computed in between has not seen it. So a score
# records ``scored_at`` this much before it was computed: a change stamped in that window looks newer than
# the score, and the scoring sweep rescores the lead once more, after which its score is certainly current.
SCORE_WRITE_MARGIN = timedelta(seconds=10)


def lead_name(*, first_name: str, last_name: str) -> str:
    """A lead's name from its columns (``Lead.name``; "" when it has none), for pages that read values."""
    return " ".join(part for part in (first_name, last_name) if part)


class Lead(models.Model):
    """A person who may buy, identified by e-mail (stored lower-case, unique case-insensitively).

    ``stage``, ``owner`` and ``sla_due_at`` are kept current by the funnel; the score fields by scoring.
    """

    email = models.CharField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    is_decision_maker = models.BooleanField(null=True, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # The nullable foreign keys are indexed where set only (Meta.indexes): most leads have none, and each
    # lead inserted would otherwise add an entry of NULL to every one of their indexes.
    persona = models.ForeignKey(
        Persona, null=True, blank=True, db_index=False, on_delete=models.SET_NULL, related_name="leads"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, db_index=False, on_delete=models.SET_NULL, related_name="leads"
    )
    source = models.CharField(max_length=20, choices=Source.choices, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    consent = models.BooleanField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    grade = models.CharField(max_length=1, choices=Grade.choices, default=Grade.D)
    score_breakdown = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    # The scoring model version that computed the current score (null: never scored).
    scoring_version = models.PositiveIntegerField(null=True, blank=True)

    # TRICKY: a foreign key to the stage's slug (not its id) keeps the column a readable slug for raw SQL,
    # CSV and the API, while the database refuses a stage that does not exist. Only leads.pipeline writes it.
    stage = models.ForeignKey(
        "leads.Stage",
        to_field="slug",
        db_column="stage",
        db_index=False,  # lead_stage_score_idx starts with stage
        default="inquiry",
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    sla_due_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    # Match keys for finding likely duplicates, kept by leads.duplicates whenever the fields they come from
    # change: "first last|company" folded and stripped of punctuation, and the phone in E.164.
    name_key = models.CharField(max_length=420, blank=True, default="")
    phone_e164 = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="lead_email_ci_unique"),
            models.CheckConstraint(condition=Q(company_size__gte=1), name="lead_company_size_positive"),
        ]
        indexes = [
            models.Index(fields=["stage", "-score"], name="lead_stage_score_idx"),
            models.Index(fields=["-score", "-id"], name="lead_score_idx"),
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["-updated_at", "-id"], name="lead_updated_idx"),
            models.Index(fields=["grade"], name="lead_grade_idx"),
            models.Index(fields=["name_key"], condition=~Q(name_key=""), name="lead_name_key_idx"),
            models.Index(fields=["phone_e164"], condition=~Q(phone_e164=""), name="lead_phone_e164_idx"),
            models.Index(fields=["external_id"], condition=~Q(external_id=""), name="lead_external_id_idx"),
            models.Index(fields=["persona"], condition=Q(persona__isnull=False), name="lead_persona_idx"),
            models.Index(fields=["campaign"], condition=Q(campaign__isnull=False), name="lead_campaign_idx"),
            models.Index(fields=["owner"], condition=Q(owner__isnull=False), name="lead_owner_idx"),
            # The scoring sweep (every minute) finds unscored and changed leads here, and leads of another
            # model version on the version index: a few index pages, not a scan of every lead. The sweep's
            # condition must be this one, word for word, for PostgreSQL to use the index.
            models.Index(
                fields=["id"],
                condition=Q(scored_at=None) | Q(scored_at__lt=F("updated_at")),
                name="lead_score_stale_idx",
            ),
            # Only scored leads: a new lead (no version yet) adds no entry, and ``< v`` and ``> v`` imply
            # NOT NULL, so PostgreSQL still reads the index for them.
            models.Index(
                fields=["scoring_version"],
                condition=Q(scoring_version__isnull=False),
                name="lead_scoring_version_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return lead_name(first_name=self.first_name, last_name=self.last_name)

    @property
    def label(self) -> str:
        """How people name the lead in sentences: "Jane Doe (Acme)", or the e-mail when it has no name."""
        who = self.name or self.email
        return f"{who} ({self.company})" if self.company else who


class LeadSearch(models.Model):
    """What the lead search reads: a lead's e-mail, first name, last name and company, joined by chr(31).

    TRICKY: database triggers keep one row per lead (``leads/migrations/0019``); no Python code writes it,
    and Django neither creates nor flushes the table (``managed = False``). The trigram index lives here,
    not on ``leads_lead``: every write of a lead that is not a HOT update adds an entry to each index of
    its table, and a trigram entry costs about as much as all the lead's other indexes together. So moving,
    assigning and scoring leads write no trigram entry; only a change of one of the four fields does.
    """

    lead = models.OneToOneField(
        Lead, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    text = models.TextField()

    class Meta:
        managed = False
        db_table = "leads_lead_search"

    def __str__(self) -> str:
        return self.text


# The pipeline aggregate: stages, the reasons a lead moves, and every move. ``leads.pipeline`` is the one
# writer of ``Lead.stage``; hand-off, routing and SLA (the funnel app) build on it.


class LeadAlias(models.Model):
    """An e-mail address of a lead merged into another: later upserts of it update the survivor.

    TRICKY: an address is either a lead's e-mail or an alias, never both; ``leads.ingest`` and
    ``leads.merge`` keep it so (the database can only enforce uniqueness within each table).
    """

    email = models.CharField(max_length=254)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        verbose_name_plural = "lead aliases"
        constraints = [models.UniqueConstraint(Lower("email"), name="lead_alias_email_ci_unique")]

    def __str__(self) -> str:
        return f"{self.email} → {self.lead_id}"


class StageKind(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"


class Team(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class Stage(models.Model):
    """A step of the shared funnel. Managers rename, reorder and add stages; the kinds are fixed."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=StageKind.choices)
    order = models.PositiveSmallIntegerField()
    team = models.CharField(max_length=20, choices=Team.choices)
    sla_hours = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Reason(models.Model):
    """A managed list of reasons (managers edit it in the admin): a slug clients send, a label people read."""

    slug = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["order", "label"]

    def __str__(self) -> str:
        return self.label


class RejectReason(Reason):
    """Why sales rejected a hand-off, so marketing learns what to do better."""


class LostReason(Reason):
    """Why a deal was lost: a managed list like the reject reasons, so marketing sees it by campaign."""


class Transition(models.Model):
    """One move of a lead between stages: from, to, when, who (or which rule), why, and an amount."""

    # Every new lead writes a transition: its foreign keys are indexed by Meta.indexes only, those that lead
    # a composite index by it, the nullable ones where set (a first transition sets none of them).
    lead = models.ForeignKey(
        Lead,
        db_index=False,  # transition_lead_time_idx starts with lead
        on_delete=models.CASCADE,
        related_name="transitions",
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, db_index=False, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage,
        db_index=False,  # transition_to_time_idx starts with to_stage
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rule = models.CharField(max_length=100, blank=True, help_text="The system rule that moved the lead.")
    reason = models.CharField(max_length=500, blank=True)
    reject_reason = models.ForeignKey(
        RejectReason,
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    lost_reason = models.ForeignKey(
        LostReason,
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0) | Q(amount=None), name="transition_amount_ok"),
        ]
        indexes = [
            models.Index(fields=["lead", "-at"], name="transition_lead_time_idx"),
            models.Index(fields=["to_stage", "at"], name="transition_to_time_idx"),
            models.Index(fields=["at"], name="transition_time_idx"),
            models.Index(
                fields=["from_stage"], condition=Q(from_stage__isnull=False), name="transition_from_stage_idx"
            ),
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="transition_actor_idx"),
            models.Index(
                fields=["reject_reason"],
                condition=Q(reject_reason__isnull=False),
                name="transition_reject_reason_idx",
            ),
            models.Index(
                fields=["lost_reason"],
                condition=Q(lost_reason__isnull=False),
                name="transition_lost_reason_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage_id} → {self.to_stage_id}"


class ActivityType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    PRICING_PAGE_VIEW = "pricing_page_view", "Pricing page view"
    FORM_SUBMIT = "form_submit", "Form submitted"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    EMAIL_OPEN = "email_open", "E-mail opened"
    EMAIL_CLICK = "email_click", "E-mail clicked"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    EVENT_VISIT = "event_visit", "Event visit"
    DEMO_REQUEST = "demo_request", "Demo requested"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"


class Activity(models.Model):
    """One thing a lead did (or that was done with it): the engagement side of the shared timeline."""

    # No index of its own: ``activity_lead_recent_idx`` starts with the lead.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities", db_index=False)
    type = models.CharField(max_length=30, choices=ActivityType.choices)
    occurred_at = models.DateTimeField()
    external_id = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="activity_external_id_unique"
            ),
        ]
        indexes = [
            # A lead's activities newest first (the timeline's order), covering what scoring reads of them:
            # the full rescore scans a range of leads' activities from this index alone, not the table.
            models.Index(
                fields=["lead", "-occurred_at", "-id"], include=["type"], name="activity_lead_recent_idx"
            ),
            # The scoring sweep looks for activities recorded after their lead was last scored.
            models.Index(fields=["created_at"], name="activity_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} by {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Note(models.Model):
    """A note on a lead, written by either team, shown on the shared timeline."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="note_lead_time_idx")]

    def __str__(self) -> str:
        return f"Note on {self.lead_id}"


class LeadChange(models.Model):
    """A person changed some of a lead's fields: what each was before and after, for the shared timeline.

    ``changes`` is ``{field name: {"from": value, "to": value}}`` with values as the API shows them
    (persona and campaign by slug). The audit trail records the same edit for managers.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="lead_change_lead_time_idx")]

    def __str__(self) -> str:
        return f"Change to {self.lead_id}"


class SavedView(models.Model):
    """A user's named filters of the lead list ("my open SQLs"): the list's query string, kept per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("user", Lower("name"), name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name


class CsvImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class CsvImport(models.Model):
    """One CSV upload: its text, how its columns map to lead fields, and how far the import has got.

    The file is kept in the database (not on a web server's disk) so any worker can run the import, and a
    worker that dies half-way resumes after ``processed_rows``.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="csv_imports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    content = models.TextField()
    headers = models.JSONField(default=list)
    # {column index (as text): lead field}
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=CsvImportStatus.choices, default=CsvImportStatus.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # Rows whose lead already existed, left as it was (``skip_existing``); otherwise such rows update it.
    skip_existing = models.BooleanField(default=False)
    skipped_count = models.PositiveIntegerField(default=0)
    # [{"row": line number in the file, "email": str, "errors": {field: [message]}}], capped
    errors = models.JSONField(default=list, blank=True)
    # Rows imported with a value changed, e.g. an unknown source stored as "other": same shape, capped
    warning_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the import was queued or last committed a batch: a sweep re-queues imports stalled past a limit.
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")), name="csv_import_progress_in_range"
            ),
        ]
        indexes = [
            models.Index(
                fields=["progress_at"],
                condition=Q(status__in=["queued", "running"]),
                name="csv_import_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else round(100 * self.processed_rows / self.total_rows)

    @property
    def is_active(self) -> bool:
        return self.status in (CsvImportStatus.QUEUED, CsvImportStatus.RUNNING)


class WebForm(models.Model):
    """A form marketing puts on a website: which lead fields it asks for, and where its leads go.

    Its public ``key`` names it in ``/f/<key>/``; submissions are stored as leads (upsert by e-mail) with a
    ``form_submit`` activity whose metadata carries the key.
    """

    key = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    # [{"name": lead field, "required": bool, "label": str}], e-mail always first and required
    fields = models.JSONField(default=list)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="web_forms"
    )
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="web_forms"
    )
    consent_text = models.TextField(max_length=2000, blank=True)
    thank_you = models.TextField(max_length=2000, blank=True)
    redirect_url = models.URLField(max_length=500, blank=True)
    # ["https://www.example.com", …]: the origins whose pages may post to the form from a script
    allowed_origins = models.JSONField(default=list, blank=True)
    # The name of the hidden input people never see and bots fill in.
    honeypot_field = models.CharField(max_length=40)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name
