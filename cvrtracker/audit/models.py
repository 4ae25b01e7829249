import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from cvrtracker.lib.fields import EncryptedTextField


class AuditEntry(models.Model):
    """Who did what to which object, when and from where. Written once, never updated.

    The database refuses UPDATE on this table (a trigger, see migrations 0002, 0009
    and 0015), but for one that changes only the encrypted columns: the master-key
    rotation re-encrypts them (front/rotation.py). Each team's entries form a hash
    chain (chain.py): `seq` numbers them, `prev_hash` and `hash` link them, so
    `manage.py audit_verify` finds an entry that was altered, removed or reordered
    behind the application's back.
    """

    class Action(models.TextChoices):
        LOGIN = "auth.login", "Logged in"
        LOGIN_FAILED = "auth.login_failed", "Failed log-in"
        LOGOUT = "auth.logout", "Logged out"
        PASSWORD_CHANGED = "auth.password_changed", "Changed password"
        PASSWORD_RESET = "auth.password_reset", "Reset password"
        SESSIONS_ENDED = "auth.sessions_ended", "Logged out other sessions"
        MFA_ENABLED = "auth.mfa_enabled", "Turned on two-factor log-in"
        MFA_DISABLED = "auth.mfa_disabled", "Turned off two-factor log-in"
        MFA_FAILED = "auth.mfa_failed", "Entered a wrong two-factor code"
        MFA_RECOVERY_USED = "auth.mfa_recovery_used", "Logged in with a recovery code"
        MFA_RECOVERY_RENEWED = "auth.mfa_recovery_renewed", "Made new recovery codes"
        TEAM_MFA_REQUIRED = "team.mfa_required", "Required two-factor log-in for the team"
        TEAM_MFA_OPTIONAL = "team.mfa_optional", "Made two-factor log-in optional for the team"
        EMAIL_CHANGED = "account.email_changed", "Changed email"
        SIGNED_UP = "account.signed_up", "Signed up"
        MEMBER_INVITED = "team.member_invited", "Invited a member"
        MEMBER_JOINED = "team.member_joined", "Joined the team"
        MEMBER_REMOVED = "team.member_removed", "Removed a member"
        API_KEY_CREATED = "api.key_created", "Created an API key"
        API_KEY_REVOKED = "api.key_revoked", "Revoked an API key"
        API_CONNECTIONS_READ = "api.connections.read", "Read seller accounts through the API"
        API_PRODUCTS_READ = "api.products.read", "Read product metrics through the API"
        API_PRODUCT_SERIES_READ = "api.product_series.read", "Read a product's days through the API"
        API_ACCOUNT_SERIES_READ = "api.account_series.read", "Read account days through the API"
        API_CHANGES_READ = "api.changes.read", "Read listing changes through the API"
        CHANGES_READ = "listings.changes.read", "Read listing changes"
        CHANGES_EXPORTED = "listings.changes.export", "Exported listing changes"
        OVERVIEW_READ = "dashboard.overview.read", "Read the dashboard overview"
        PRODUCTS_READ = "dashboard.products.read", "Read the product table"
        PRODUCTS_EXPORTED = "dashboard.products.export", "Exported the product table"
        PRODUCT_READ = "dashboard.product.read", "Read a product's page"
        PRODUCT_EXPORTED = "dashboard.product.export", "Exported a product's days"
        PRODUCT_TRACKED = "listings.product_tracked", "Started tracking a product"
        PRODUCT_UNTRACKED = "listings.product_untracked", "Stopped tracking a product"
        ALERT_RULE_ON = "alerts.rule_on", "Switched an alert on"
        ALERT_RULE_OFF = "alerts.rule_off", "Switched an alert off"
        ALERT_RULE_CHANGED = "alerts.rule_changed", "Changed an alert"
        ALERT_RULE_DELETED = "alerts.rule_deleted", "Deleted an alert"
        ALERT_CHANNEL_ADDED = "alerts.channel_added", "Added an alert channel"
        ALERT_CHANNEL_CONFIRMED = "alerts.channel_confirmed", "Confirmed an alert email address"
        ALERT_CHANNEL_RESUMED = "alerts.channel_resumed", "Resumed a paused alert channel"
        ALERT_CHANNEL_REMOVED = "alerts.channel_removed", "Removed an alert channel"
        ALERT_UNSUBSCRIBED = "alerts.unsubscribed", "Unsubscribed from an alert"
        ALERTS_READ = "alerts.history.read", "Read the alerts history"
        AMAZON_CONNECTED = "amazon.connected", "Connected an Amazon seller account"
        AMAZON_DISCONNECTED = "amazon.disconnected", "Disconnected an Amazon seller account"
        AMAZON_REVOKED = "amazon.revoked", "Amazon authorization found revoked"
        AMAZON_SETTINGS_READ = "amazon.settings.read", "Read Settings → Amazon"
        AMAZON_PRODUCTS_READ = "amazon.products.read", "Read the products page"
        AMAZON_ACCOUNTS_NAMED = "amazon.accounts.read", "Saw seller accounts' store names"
        TEAM_RENAMED = "team.renamed", "Renamed the team"
        INVITATION_CANCELLED = "team.invitation_cancelled", "Cancelled an invitation"
        ACCESS_LOG_EXPORTED = "audit.access_log.export", "Downloaded the access log"
        PROFILE_CHANGED = "account.profile_changed", "Changed their name"
        ACCOUNT_DELETION_REQUESTED = "account.deletion_requested", "Deleted their account"
        TEAM_OWNER_CHANGED = "team.owner_changed", "Passed team ownership on"
        TEAM_DELETION_REQUESTED = "team.deletion_requested", "Deleted the team"
        SUBSCRIPTION_CANCELLED = "billing.subscription_cancelled", "Cancelled the subscription"
        DATA_EXPORT_REQUESTED = "privacy.export_requested", "Asked for a data export"
        DATA_EXPORT_DOWNLOADED = "privacy.export_downloaded", "Downloaded a data export"
        AMAZON_DATA_PURGED = "amazon.data_purged", "Amazon data deleted"
        RIGHTS_REQUEST_MADE = "privacy.rights_request", "Made a privacy rights request"

    # Reads made with an API key come many a minute: the security page leaves them
    # out so they cannot push a failed log-in off the list (the API page shows
    # each key's last use instead).
    API_READS = (
        Action.API_CONNECTIONS_READ,
        Action.API_PRODUCTS_READ,
        Action.API_PRODUCT_SERIES_READ,
        Action.API_ACCOUNT_SERIES_READ,
        Action.API_CHANGES_READ,
    )
    # Reads of Amazon data: every page view of a change history writes one. The audit
    # trail keeps them all; the security page lists log-ins, changes of the account and
    # the like, so these would push a failed log-in off its list.
    DATA_READS = (
        *API_READS,
        Action.CHANGES_READ,
        Action.CHANGES_EXPORTED,
        Action.OVERVIEW_READ,
        Action.PRODUCTS_READ,
        Action.PRODUCTS_EXPORTED,
        Action.PRODUCT_READ,
        Action.PRODUCT_EXPORTED,
        Action.ALERTS_READ,
        Action.AMAZON_SETTINGS_READ,
        Action.AMAZON_PRODUCTS_READ,
        Action.AMAZON_ACCOUNTS_NAMED,
        Action.DATA_EXPORT_DOWNLOADED,
    )

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # No database constraint and no action on delete: the trail is append-only (the
    # database refuses UPDATE), so deleting a user or team must not touch its rows.
    # The purge deletes a deleted team's whole chain (privacy/deletion.py); entries
    # a deleted user left in another team's chain keep their old id, which then
    # names nobody (pseudonymous), until AUDIT_RETENTION_DAYS ends them. Read
    # `team`/`actor` with select_related: a missing row gives None.
    team = models.ForeignKey(
        "accounts.Team", models.DO_NOTHING, null=True, related_name="+", db_constraint=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.DO_NOTHING,
        null=True,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target_type = models.CharField(max_length=40, blank=True)
    target_code = models.CharField(max_length=40, blank=True)
    # From where, and what the target alone does not say (the filters of a download, a
    # staff reason, an old and a new name): encrypted (lib/fields.py), never searched.
    # The only UPDATE the database lets through re-encrypts these three (rotation).
    ip = EncryptedTextField(max_length=39, null=True, blank=True)
    user_agent = EncryptedTextField(max_length=300, blank=True)
    detail = EncryptedTextField(max_length=200, blank=True)
    # The hash chain (chain.py): the team's code (or "site"), the place in it, the links.
    chain = models.CharField(max_length=40, blank=True, default="")
    seq = models.PositiveBigIntegerField(null=True)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["team", "-created_at"])]
        constraints = [
            # Two writers can never both append entry n of a chain: the chain cannot fork.
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_entry_chain_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)


class AuditChain(models.Model):
    """The head of one chain: its last entry's place and hash. Writers lock this row
    (an UPDATE ... RETURNING that also reserves their numbers) to append, so concurrent
    requests of one team queue up instead of forking the chain; verification checks
    that the last entry is still the one recorded here, so removing the newest entries
    shows too."""

    key = models.CharField(max_length=40, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True, default="")
    # Retention deletes a chain's oldest entries (AUDIT_RETENTION_DAYS): the kept part
    # then starts after entry `pruned_seq`, whose hash was `pruned_hash`.
    pruned_seq = models.PositiveBigIntegerField(default=0)
    pruned_hash = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key} @ {self.last_seq}"
