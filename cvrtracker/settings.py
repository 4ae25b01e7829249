"""The one settings module.

Everything that differs between a laptop and production comes from the
environment; the defaults are the embedded demo (SQLite under var/, emails to
the console, tasks on the database). Secrets may also come from `<NAME>_FILE`.
"""

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
# Amazon's and Stripe's official API models (sp-api/, sp-api-samples/, stripe/):
# the simulator serves and the tests check against them. They are not in the
# repository; the Makefile finds them beside it (or beside the clone's origin).
SPECS_DIR = Path(os.environ.get("SPECS_DIR") or BASE_DIR.parent / "shared" / "specs")


def env(name: str, default: str = "") -> str:
    """Read NAME, or the file named by NAME_FILE (for container secrets)."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return default


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def _embedded_secret_key() -> str:
    # A random key kept under var/ so that sessions survive restarts of the
    # embedded demo; production sets SECRET_KEY and never reaches this.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG")
SECRET_KEY = env("SECRET_KEY") or _embedded_secret_key()
# The embedded run serves on PORT (make run, runall), so links, the Amazon callback and the
# API examples follow it unless SITE_ROOT names the public address.
SITE_ROOT = env("SITE_ROOT", f"http://127.0.0.1:{env('PORT', '8000')}").rstrip("/")
SITE_NAME = "CVR Tracker"
# Production serves over https; the embedded demo over plain http on loopback.
SECURE = SITE_ROOT.startswith("https://")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_ROOT)
if env_bool("TRUST_PROXY_SSL_HEADER"):
    # Only behind a proxy that overwrites this header; otherwise a client could forge it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    # django_rq and django_tasks_rq are added below when REDIS_URL is set.
    "cvrtracker.accounts",
    "cvrtracker.front",
    "cvrtracker.audit",
    "cvrtracker.simulator",
    "cvrtracker.amazon",
    "cvrtracker.listings",
    "cvrtracker.metrics",
    "cvrtracker.billing",
    "cvrtracker.api",
    "cvrtracker.impact",
    "cvrtracker.dashboard",
    "cvrtracker.alerts",
    "cvrtracker.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First of ours: nothing below (sessions, axes, views) ever sees a NUL character.
    "cvrtracker.lib.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cvrtracker.audit.middleware.AuditMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Reads request.user after the view; writes its batches after the response is sent.
    "cvrtracker.privacy.usage.UsageMiddleware",
    # Below authentication (it reads request.user after the view) and below WhiteNoise,
    # whose static files stay cacheable.
    "cvrtracker.lib.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cvrtracker.accounts.middleware.SessionTimeoutMiddleware",
    "cvrtracker.accounts.middleware.MFARequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Below the CSP middleware, so that it adds the analytics origin before the header is built.
    "cvrtracker.privacy.consent.ConsentMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cvrtracker.urls"
WSGI_APPLICATION = "cvrtracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cvrtracker.front.context_processors.branding",
            ],
        },
    },
]

# Database: SQLite under var/ by default; PostgreSQL in production and in CI.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cvrtracker.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background tasks: on the database by default, on Redis workers (RQ) when REDIS_URL is set.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    # Only then: rq and redis are ~20 MB in every process that loads them.
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
# Derived dashboard figures (dashboard/cache.py, encrypted with each account's key):
# shared by every worker on Redis when REDIS_URL is set, else per process in memory
# (Django's default holds 300 entries).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cvrtracker",
        }
    }
else:
    # A product's series is an entry per month (~1.6 KB): ~800 products' two years, ~32 MB.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# Accounts
AUTH_USER_MODEL = "accounts.User"
# User.email is encrypted; its uniqueness is the unique blind index beside it
# (User.email_index), which auth's check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "front:index"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
EMAIL_VERIFICATION_MAX_AGE = 60 * 60 * 24 * 3
INVITATION_MAX_AGE = 60 * 60 * 24 * 7
# The version of templates/front/privacy.html a user accepts at sign-up.
PRIVACY_POLICY_VERSION = "2026-11-29"
MINIMUM_AGE = 16

# Log-in throttling (django-axes): 5 failures per email and IP lock that pair
# for 30 minutes. The same response whether or not the email has an account.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cvrtracker.accounts.views.lockout"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Nothing personal in axes' tables (privacy/login_records.py): the email and the IP
# address stand there as keyed HMACs, the browser is not kept, the form's email,
# password and code are masked, and successful log-ins are not logged (the sessions
# list and the audit trail say who logged in from where).
AXES_USERNAME_CALLABLE = "cvrtracker.privacy.login_records.axes_username"
AXES_CLIENT_IP_CALLABLE = "cvrtracker.privacy.login_records.axes_client_ip"
AXES_HANDLER = "cvrtracker.privacy.login_records.AxesHandler"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "email", "code", "otp_token"]
AXES_DISABLE_ACCESS_LOG = True
AXES_IPWARE_PROXY_COUNT = int(env("PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if env("PROXY_COUNT") else ["REMOTE_ADDR"]
)

# Two-factor log-in (django-otp, TOTP; accounts/mfa.py). The issuer names the site in
# the authenticator app. A wrong code makes the device wait 1, 2, 4... seconds before
# it checks another, on top of django-axes counting the failure against the email.
OTP_TOTP_ISSUER = SITE_NAME
OTP_TOTP_THROTTLE_FACTOR = 1
# How long a correct password waits for its second factor before log-in starts over.
MFA_LOGIN_WINDOW_SECONDS = 300

# Sessions: database-backed so log-out kills them on the server; idle and
# absolute limits enforced by accounts.middleware.SessionTimeoutMiddleware.
# Sessions sealed with the personal-data key (lib/sessions.py), not only signed.
SESSION_ENGINE = "cvrtracker.lib.sessions"
SESSION_IDLE_TIMEOUT = int(env("SESSION_IDLE_TIMEOUT", str(60 * 60 * 2)))
SESSION_ABSOLUTE_TIMEOUT = int(env("SESSION_ABSOLUTE_TIMEOUT", str(60 * 60 * 24 * 7)))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Transport security: on whenever the site is served over https.
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
if SECURE:
    # __Host- cookies are bound to this exact host and path, and https only.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = SECURE and not env_bool("SSL_REDIRECT_DISABLED")
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Email: SMTP when EMAIL_HOST is set, the console otherwise (the embedded demo).
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "CVR Tracker <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env("EMAIL_HOST"),
                "port": int(env("EMAIL_PORT", "587")),
                "username": env("EMAIL_HOST_USER"),
                "password": env("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# Internationalisation
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: built from npm packages into static/vendor by `make assets`,
# served by WhiteNoise in every mode so that no CDN is ever involved.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only for `collectstatic` in production; WhiteNoise serves from the finders otherwise.
STATIC_ROOT = env("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # SafeFormatter escapes newlines and control characters in messages: user input
    # in a message cannot forge a log line (cvrtracker/lib/logsafe.py).
    "formatters": {
        "plain": {
            "()": "cvrtracker.lib.logsafe.SafeFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "mail.log": {"level": "WARNING"}},
}

# Amazon SP-API ----------------------------------------------------------------
# Encryption at rest (cvrtracker/lib/crypto.py): the 256-bit master key that wraps
# every connection's data key, base64, from MASTER_KEY or MASTER_KEY_FILE. Without
# one, the embedded demo generates var/master_key (mode 0600).
MASTER_KEY = env("MASTER_KEY")
# During a master-key rotation only: the key MASTER_KEY replaces, still used to read
# data keys not yet re-wrapped (manage.py rotate_master_key). Remove it afterwards.
MASTER_KEY_PREVIOUS = env("MASTER_KEY_PREVIOUS")
MASTER_KEY_PATH = VAR_DIR / "master_key"
# Backups (manage.py backup/restore, cvrtracker/front/backup.py): their own AES-256 key,
# base64, from BACKUP_KEY or the file BACKUP_KEY_FILE, which must not sit in the directory
# the backups are written to. Never the master key: that one is never in a backup.
BACKUP_KEY = os.environ.get("BACKUP_KEY", "")
BACKUP_KEY_FILE = os.environ.get("BACKUP_KEY_FILE", "")
# Defaults talk to the local simulator that `make run` starts; AMAZON_PRODUCTION=1
# switches every default to Amazon's hosts (each may still be set one by one).
AMAZON_PRODUCTION = env_bool("AMAZON_PRODUCTION")
# make run's simulator listens on SIM_PORT (8100), so a second instance can run beside it.
_AMAZON_SIM = env("AMAZON_SIMULATOR_URL", f"https://127.0.0.1:{env('SIM_PORT', '8100')}").rstrip(
    "/"
)
LWA_CLIENT_ID = env(
    "LWA_CLIENT_ID", "" if AMAZON_PRODUCTION else "amzn1.application-oa2-client.simulator"
)
LWA_CLIENT_SECRET = env("LWA_CLIENT_SECRET", "" if AMAZON_PRODUCTION else "sim-secret")
# Amazon makes the client secret rotate every 180 days. During a rotation, set
# LWA_CLIENT_SECRET to the new secret and this to the one it replaces (still
# valid until expired at Amazon); when LWA refuses one, the other is tried and
# kept. Remove it once the old secret has expired.
LWA_CLIENT_SECRET_PREVIOUS = env("LWA_CLIENT_SECRET_PREVIOUS")
AMAZON_APPLICATION_ID = env(
    "AMAZON_APPLICATION_ID", "" if AMAZON_PRODUCTION else "amzn1.sp.solution.simulator"
)
AMAZON_REDIRECT_URI = env("AMAZON_REDIRECT_URI", f"{SITE_ROOT}/amazon/callback/")
# A draft app needs version=beta on the consent URL (Amazon answers MD1000 otherwise).
AMAZON_APP_IS_DRAFT = env_bool("AMAZON_APP_IS_DRAFT", not AMAZON_PRODUCTION)
AMAZON_LWA_TOKEN_URL = env(
    "AMAZON_LWA_TOKEN_URL",
    "https://api.amazon.com/auth/o2/token" if AMAZON_PRODUCTION else f"{_AMAZON_SIM}/auth/o2/token",
)
_AMAZON_HOSTS = {
    "NA": ("https://sellingpartnerapi-na.amazon.com", "https://sellercentral.amazon.com"),
    "EU": ("https://sellingpartnerapi-eu.amazon.com", "https://sellercentral-europe.amazon.com"),
    "FE": ("https://sellingpartnerapi-fe.amazon.com", "https://sellercentral.amazon.co.jp"),
}
AMAZON_SPAPI_URLS = {
    region: env(f"AMAZON_SPAPI_URL_{region}", api if AMAZON_PRODUCTION else _AMAZON_SIM)
    for region, (api, _) in _AMAZON_HOSTS.items()
}
AMAZON_CONSENT_URLS = {
    region: env(f"AMAZON_CONSENT_URL_{region}", central if AMAZON_PRODUCTION else _AMAZON_SIM)
    for region, (_, central) in _AMAZON_HOSTS.items()
}
# The demo's simulator when it is the SP-API endpoint, else empty (always with
# AMAZON_PRODUCTION). Its product images live on its own origin under its own CA,
# which browsers do not trust, so the product page relays them through
# amazon:simulator_image (amazon/images.py) instead of widening the CSP's img-src.
AMAZON_SIMULATOR_ORIGIN = (
    _AMAZON_SIM if not AMAZON_PRODUCTION and _AMAZON_SIM in AMAZON_SPAPI_URLS.values() else ""
)


# Fail closed: an https site (production) never talks to the simulator. Without
# AMAZON_PRODUCTION=1 every default above is the simulator on loopback with its
# well-known client secret, and a forgotten variable would otherwise go unnoticed:
# sellers would "connect" to a simulator.
def _points_at_simulator(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if url.rstrip("/").startswith(_AMAZON_SIM) or host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


# The names of the settings still pointing at the simulator (front/checks.py makes
# them an error of `check --deploy` too, https or not).
AMAZON_SIMULATOR_SETTINGS = [
    name
    for name, url in [
        ("AMAZON_LWA_TOKEN_URL", AMAZON_LWA_TOKEN_URL),
        *((f"AMAZON_SPAPI_URL_{r}", u) for r, u in AMAZON_SPAPI_URLS.items()),
        *((f"AMAZON_CONSENT_URL_{r}", u) for r, u in AMAZON_CONSENT_URLS.items()),
    ]
    if _points_at_simulator(url)
] + (["LWA_CLIENT_SECRET"] if LWA_CLIENT_SECRET == "sim-secret" else [])  # noqa: S105
# A public demo served over https on purpose may set this; check --deploy still fails.
AMAZON_SIMULATOR_ON_HTTPS = env_bool("AMAZON_SIMULATOR_ON_HTTPS")
if SECURE and AMAZON_SIMULATOR_SETTINGS and not AMAZON_SIMULATOR_ON_HTTPS:
    raise ImproperlyConfigured(
        f"SITE_ROOT is https (production) but {', '.join(AMAZON_SIMULATOR_SETTINGS)} "
        "still point at the Amazon simulator. Set AMAZON_PRODUCTION=1 with the app's "
        "LWA_CLIENT_ID, LWA_CLIENT_SECRET and AMAZON_APPLICATION_ID (README, "
        '"Running in production").'
    )
# Extra CA to trust for Amazon calls: only the simulator's, and only when set.
AMAZON_CA_FILE = env("AMAZON_CA_FILE", "" if AMAZON_PRODUCTION else str(VAR_DIR / "sim" / "ca.pem"))
# The tracker's clock (cvrtracker/lib/clock.py): "system", or "simulator" to follow the
# simulator's clock (GET /_sim/clock, re-read at most once per TRACKER_CLOCK_CACHE_SECONDS),
# so that jumping it moves the tracker's days with it. `make run` sets "simulator"; it is
# refused with AMAZON_PRODUCTION (front/checks.py) and ignored there.
TRACKER_CLOCK = env("TRACKER_CLOCK", "system")
TRACKER_CLOCK_CACHE_SECONDS = float(env("TRACKER_CLOCK_CACHE_SECONDS", "1"))
# Rate-limit state shared by every worker: Redis when REDIS_URL is set, else the
# database; "memory" is per process (tests only).
AMAZON_RATELIMIT_STORAGE = env("AMAZON_RATELIMIT_STORAGE", "redis" if REDIS_URL else "database")
AMAZON_RETRY_ATTEMPTS = int(env("AMAZON_RETRY_ATTEMPTS", "6"))
AMAZON_RETRY_INITIAL_SECONDS = float(env("AMAZON_RETRY_INITIAL_SECONDS", "1"))
AMAZON_RETRY_MAX_SECONDS = float(env("AMAZON_RETRY_MAX_SECONDS", "120"))
AMAZON_HTTP_TIMEOUT_SECONDS = float(env("AMAZON_HTTP_TIMEOUT_SECONDS", "30"))
# Sync schedule (cvrtracker/amazon/sync/). Amazon keeps two years of Sales &
# Traffic; that history comes from Data Kiosk, and one-day reports cover only the
# recent days Amazon still revises (re-pulled on a tapering schedule).
AMAZON_BACKFILL_DAYS = int(env("AMAZON_BACKFILL_DAYS", "730"))
AMAZON_REPORT_DAYS = int(env("AMAZON_REPORT_DAYS", "30"))
# On connect, one Sales & Traffic report over the last AMAZON_QUICK_TOTALS_DAYS days
# ending AMAZON_QUICK_TOTALS_LAG_DAYS before yesterday (traffic arrives days after the
# sales) gives every product's totals within a minute (metrics/quick.py).
AMAZON_QUICK_TOTALS = env_bool("AMAZON_QUICK_TOTALS", True)
AMAZON_QUICK_TOTALS_DAYS = int(env("AMAZON_QUICK_TOTALS_DAYS", "30"))
AMAZON_QUICK_TOTALS_LAG_DAYS = int(env("AMAZON_QUICK_TOTALS_LAG_DAYS", "3"))
# A new connection's inventory and orders runs wait this long while its range report
# is due, so one worker does not hold the report's poll behind a long run.
AMAZON_QUICK_TOTALS_HOLD_SECONDS = float(env("AMAZON_QUICK_TOTALS_HOLD_SECONDS", "120"))
# GET_SALES_AND_TRAFFIC_REPORT: Amazon allows 1 request per 15 min and 96 a day
# (models#5210), per seller and shared with the seller's other apps ("seller"), or
# per app across all sellers ("app"). We spend this share of the 96.
AMAZON_ST_BUDGET_SCOPE = env("AMAZON_ST_BUDGET_SCOPE", "seller")
AMAZON_ST_BUDGET_SHARE = float(env("AMAZON_ST_BUDGET_SHARE", "0.25"))
# Divides the budget's 15 minutes and day, the backoff after a 429 and the stuck
# limit below: 1 against Amazon; `make run` sets the relaxed simulator's factor.
AMAZON_ST_TIME_SCALE = float(env("AMAZON_ST_TIME_SCALE", "1"))
# A report step failing with a permanent error (4xx) is given up after this many
# attempts, a report Amazon ends FATAL after AMAZON_REPORT_FATAL_ATTEMPTS.
AMAZON_REPORT_MAX_ATTEMPTS = int(env("AMAZON_REPORT_MAX_ATTEMPTS", "5"))
AMAZON_REPORT_FATAL_ATTEMPTS = int(env("AMAZON_REPORT_FATAL_ATTEMPTS", "3"))
# Seconds between two getReport polls of one report (Amazon advises 30-60 s; the
# simulator's relaxed reports finish in half a second).
AMAZON_REPORT_POLL_SECONDS = float(env("AMAZON_REPORT_POLL_SECONDS", "2"))
# A report still IN_QUEUE after this long (divided by AMAZON_ST_TIME_SCALE) is
# cancelled and asked for again later: Amazon's queue can hold a report for hours
# behind others (models#2509, docs#3502), and every new request spends budget.
AMAZON_REPORT_STUCK_SECONDS = float(env("AMAZON_REPORT_STUCK_SECONDS", str(6 * 3600)))
# A claimed job not finished after this long (its worker died) is claimed again.
AMAZON_JOB_LEASE_SECONDS = float(env("AMAZON_JOB_LEASE_SECONDS", "600"))
# How long a job may wait for its own rate-limit token before coming back later.
# Short on purpose: a job sleeping on a slow quota (searchOrders refills every
# few seconds even when relaxed) holds a worker that other steps are queued for.
AMAZON_JOB_QUOTA_WAIT_SECONDS = float(env("AMAZON_JOB_QUOTA_WAIT_SECONDS", "1"))
# How far back the first orders sync reaches (searchOrders pages at 100 orders).
AMAZON_ORDERS_INITIAL_DAYS = int(env("AMAZON_ORDERS_INITIAL_DAYS", "3"))
# Each orders window starts this long before the last one's echoed end: an order
# updated at the boundary is fetched twice (harmless) rather than missed.
AMAZON_ORDERS_OVERLAP_SECONDS = int(env("AMAZON_ORDERS_OVERLAP_SECONDS", "300"))
# Listings and orders runs stop after this many pages and go on at the next tick,
# so one big seller never holds a worker for long.
AMAZON_JOB_PAGES_PER_RUN = int(env("AMAZON_JOB_PAGES_PER_RUN", "10"))
# Minutes from the end of one listings sweep (every tracked listing read, changes
# recorded) to the start of the next: a change on Amazon shows within about this
# long plus one sweep, and so do the alerts about it. Every 5 minutes by default.
# A sweep reads 20 listings, and their 20 catalog items, a call: 1,000 products take
# under a minute, 10,000 about 6, most of it bound by the Catalog Items quota
# (2 calls/s; bench/listings_sweep.py). So that a big catalogue does not take more
# than LISTINGS_SWEEP_QUOTA_SHARE of that quota (the rest is left to the seller's
# other tools), its sweeps come further apart: at 20%, every N/8 seconds for N
# tracked listings (10,000: about every 21 minutes) (amazon/sync/schedule.py).
LISTINGS_SWEEP_MINUTES_RANGE = (5, 1440)
LISTINGS_SWEEP_QUOTA_SHARE = 0.2
# The merchant listings report (which SKUs exist, new ones) is asked for at most this
# often per marketplace; the sweeps in between read the listings already known.
LISTINGS_DISCOVERY_MINUTES = int(env("LISTINGS_DISCOVERY_MINUTES", "60"))


def _listings_sweep_minutes() -> int:
    raw = env("LISTINGS_SWEEP_MINUTES", "5")
    low, high = LISTINGS_SWEEP_MINUTES_RANGE
    try:
        minutes = int(raw)
    except ValueError:
        minutes = None
    if minutes is None or not low <= minutes <= high:
        raise ImproperlyConfigured(
            f"LISTINGS_SWEEP_MINUTES must be a whole number of minutes from {low} to "
            f"{high} (one day); it is {raw!r}."
        )
    return minutes


LISTINGS_SWEEP_MINUTES = _listings_sweep_minutes()
# A seller's edit the detail page has not shown after this many days is flagged
# "not live" on the products page: Amazon may take days to merge it, or never
# show it when another contributor's value wins (models#4028).
LISTING_EDIT_LIVE_DAYS = float(env("LISTING_EDIT_LIVE_DAYS", "3"))
# A product's Buy Box share (percent of page views) below this is "Buy Box lost" on its
# change history (listings/inference.py), from the second such day in a row.
LISTING_BUY_BOX_THRESHOLD_PCT = float(env("LISTING_BUY_BOX_THRESHOLD_PCT", "50"))
AMAZON_SCHEDULER_INTERVAL_SECONDS = float(env("AMAZON_SCHEDULER_INTERVAL_SECONDS", "1"))
# Data Kiosk history (cvrtracker/amazon/sync/datakiosk.py): marketplace filters of
# ≤30 ASINs per trends query (Amazon documents no maximum, so one by default),
# seconds between two getQuery polls, and createQuery tries before a query gives up.
AMAZON_DATAKIOSK_FILTERS_PER_QUERY = int(env("AMAZON_DATAKIOSK_FILTERS_PER_QUERY", "1"))
AMAZON_DATAKIOSK_POLL_SECONDS = float(env("AMAZON_DATAKIOSK_POLL_SECONDS", "30"))
AMAZON_DATAKIOSK_MAX_ATTEMPTS = int(env("AMAZON_DATAKIOSK_MAX_ATTEMPTS", "5"))
# Amazon SP-API end -------------------------------------------------------------

# Billing (Stripe) --------------------------------------------------------------
# Without STRIPE_SECRET_KEY billing shows as "not configured" and nobody is ever
# locked out (the embedded demo, a self-hosted install). See README.md, "Billing (Stripe)".
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
# A price id (price_...) or a lookup key per plan.
STRIPE_PRICE_STARTER = env("STRIPE_PRICE_STARTER")
STRIPE_PRICE_PRO = env("STRIPE_PRICE_PRO")
STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# Checkout and the Customer Portal: the billing page's forms redirect there, and
# browsers apply the page's CSP form-action to that redirect.
STRIPE_REDIRECT_ORIGINS = env_list(
    "STRIPE_REDIRECT_ORIGINS", "https://checkout.stripe.com,https://billing.stripe.com"
)
STRIPE_MAX_NETWORK_RETRIES = int(env("STRIPE_MAX_NETWORK_RETRIES", "2"))
STRIPE_TIMEOUT_SECONDS = float(env("STRIPE_TIMEOUT_SECONDS", "20"))
# CA bundle trusted for Stripe's API (empty: the system's store): for a test double only.
STRIPE_CA_FILE = env("STRIPE_CA_FILE")
BILLING_ENFORCED = env_bool("BILLING_ENFORCED", bool(STRIPE_SECRET_KEY))
# Days of full access after a failed payment while Stripe retries the card.
BILLING_GRACE_DAYS = int(env("BILLING_GRACE_DAYS", "7"))
# Billing (Stripe) end ----------------------------------------------------------

# Read-only API ------------------------------------------------------------------
# Requests per minute per API key, also the burst a key may spend at once.
API_RATE_LIMIT_PER_MINUTE = int(env("API_RATE_LIMIT_PER_MINUTE", "60"))
# Where the buckets live: shared by every web process like the Amazon limiter's.
API_RATELIMIT_STORAGE = env("API_RATELIMIT_STORAGE", AMAZON_RATELIMIT_STORAGE)
# Read-only API end --------------------------------------------------------------

# Alert delivery ------------------------------------------------------------------
# Webhooks and Slack may call only public addresses (alerts/outbound.py). "true"
# allows every address (tests, a demo receiver on loopback); a comma-separated list
# of networks allows those only (an internal relay: "10.1.2.3/32").
_allow_private = env("ALERTS_ALLOW_PRIVATE_TARGETS", "false").strip()
ALERTS_ALLOW_PRIVATE_TARGETS: bool | list[str] = (
    _allow_private.lower() in ("1", "true", "yes", "on")
    if _allow_private.lower() in ("", "0", "1", "true", "false", "yes", "no", "on", "off")
    else env_list("ALERTS_ALLOW_PRIVATE_TARGETS")
)
# CA bundle for webhook TLS (empty: the system's).
ALERTS_CA_FILE = env("ALERTS_CA_FILE")
# A worker holds a delivery this long while it sends (longer than an SMTP or HTTP timeout).
ALERTS_DELIVERY_LEASE_SECONDS = float(env("ALERTS_DELIVERY_LEASE_SECONDS", "120"))
# Retries: first after ALERTS_RETRY_BASE_SECONDS, then × 5 each time (1, 5, 25 min, ...)
# up to the cap, with jitter; FAILED after ALERTS_MAX_ATTEMPTS.
ALERTS_RETRY_BASE_SECONDS = float(env("ALERTS_RETRY_BASE_SECONDS", "60"))
ALERTS_RETRY_CAP_SECONDS = float(env("ALERTS_RETRY_CAP_SECONDS", str(6 * 3600)))
ALERTS_MAX_ATTEMPTS = int(env("ALERTS_MAX_ATTEMPTS", "8"))
# A channel failing this many deliveries in a row is paused and the owner told.
ALERTS_PAUSE_AFTER_FAILURES = int(env("ALERTS_PAUSE_AFTER_FAILURES", "10"))
# The sweep re-enqueues a due delivery no worker took for this long (a lost task,
# a killed worker once its lease ended).
ALERTS_SWEEP_DELAY_SECONDS = float(env("ALERTS_SWEEP_DELAY_SECONDS", "60"))
# How often the scheduler process runs that sweep (periodic hook, or manage.py alerts_sweep).
ALERTS_SWEEP_EVERY_SECONDS = float(env("ALERTS_SWEEP_EVERY_SECONDS", "30"))
ALERTS_CONFIRM_MAX_AGE = 60 * 60 * 24 * 7
# Alert delivery end --------------------------------------------------------------
# Alerts: rules and evaluation -----------------------------------------------------
# The conversion-drop CUSUM's budget: false alerts per seller account and year over
# the products a rule watches (h = ln(365·N/B), alerts/cusum.py).
ALERTS_CONVERSION_FALSE_ALERTS = float(env("ALERTS_CONVERSION_FALSE_ALERTS", "1"))
# How often the scheduler evaluates every account's enabled rules and creates the
# due digests (the sync's hooks evaluate as soon as new data is stored; this is the
# safety net and the clock for digests).
ALERTS_EVALUATE_EVERY_SECONDS = float(env("ALERTS_EVALUATE_EVERY_SECONDS", "900"))
# Alerts: rules and evaluation end -------------------------------------------------


# Privacy: export, deletion, purge, retention (privacy app) ------------------------
# Every period here is also what the privacy page says (privacy/policy.py renders
# them from these settings), so the page cannot promise what the code does not do.
def _days(name: str, default: int, low: int, high: int) -> int:
    value = int(env(name, str(default)))
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high} days, not {value}.")
    return value


# A deleted account (and its team, when it was the last member) is purged this many
# days after deletion; 0 purges at the next retention run.
ACCOUNT_DELETION_GRACE_DAYS = _days("ACCOUNT_DELETION_GRACE_DAYS", 30, 0, 30)
# The outer limit for deleting a disconnected or revoked seller account's Amazon data;
# the purge job starts at once and normally finishes in minutes.
AMAZON_DATA_PURGE_DAYS = _days("AMAZON_DATA_PURGE_DAYS", 30, 0, 30)
# Usage data (IP address, browser, pages) of signed-in requests, and the same kept in
# sessions, log-in records and audit entries: 12 months.
USAGE_RETENTION_DAYS = _days("USAGE_RETENTION_DAYS", 365, 1, 365)
# The audit trail (who read or changed what): at least 90 days (Amazon's Data
# Protection Policy), at most 12 months.
AUDIT_RETENTION_DAYS = _days("AUDIT_RETENTION_DAYS", 365, 90, 365)
# A data export can be downloaded this long after it is ready, then it is deleted.
EXPORT_LINK_DAYS = _days("EXPORT_LINK_DAYS", 7, 1, 30)
EXPORTS_DIR = Path(env("EXPORTS_DIR", str(VAR_DIR / "exports")))
# Usage events wait in each process's memory and are written in one INSERT every this
# many events or seconds, after the response that fills the batch (privacy/usage.py).
USAGE_FLUSH_EVENTS = int(env("USAGE_FLUSH_EVENTS", "50"))
USAGE_FLUSH_SECONDS = float(env("USAGE_FLUSH_SECONDS", "10"))
# The public rights and support forms take this many messages per IP address an hour.
PUBLIC_FORM_LIMIT_PER_HOUR = int(env("PUBLIC_FORM_LIMIT_PER_HOUR", "5"))
# Privacy rights requests are answered within this many days (45 under the CCPA) and
# their records kept this long after closing (24 months under the CCPA regulations).
RIGHTS_REQUEST_DUE_DAYS = _days("RIGHTS_REQUEST_DUE_DAYS", 45, 1, 45)
RIGHTS_REQUEST_RETENTION_DAYS = _days("RIGHTS_REQUEST_RETENTION_DAYS", 730, 365, 1095)
# Support requests are kept this long after they are closed.
SUPPORT_RETENTION_DAYS = _days("SUPPORT_RETENTION_DAYS", 365, 30, 730)
# Where the contact form's messages go.
SUPPORT_EMAIL = env("SUPPORT_EMAIL", "support@localhost")
# An analytics script (an https URL of the operator's choice), loaded only for visitors
# who opted in on the cookie banner; empty: no analytics at all.
ANALYTICS_SCRIPT_URL = env("ANALYTICS_SCRIPT_URL")
# How often the scheduler applies every retention rule (privacy/retention.py).
RETENTION_EVERY_SECONDS = float(env("RETENTION_EVERY_SECONDS", str(24 * 3600)))
# Privacy end -----------------------------------------------------------------------
