"""The one declaration of Switchboard's tables, functions and their triggers.

Both the CDK stacks (`infra/`) and the local run (`emulator/`) read this module, so what
`make run` starts cannot drift from what `cdk deploy` builds. It is plain data: no boto3,
no CDK imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Access(StrEnum):
    """What a function may do with a table; CDK turns it into least-privilege grants."""

    READ = "read"
    READ_WRITE = "read_write"


class Projection(StrEnum):
    KEYS_ONLY = "KEYS_ONLY"
    ALL = "ALL"


@dataclass(frozen=True)
class Index:
    """A global secondary index (string keys)."""

    name: str
    partition_key: str
    sort_key: str
    projection: Projection = Projection.KEYS_ONLY


@dataclass(frozen=True)
class Table:
    """A DynamoDB table with string `pk` (and optional string `sk`) keys."""

    key: str  # short name used by functions and the emulator ("objects")
    env_var: str  # environment variable that carries the physical table name
    partition_key: str = "pk"
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()
    stream: str | None = None  # StreamViewType, e.g. NEW_AND_OLD_IMAGES
    ttl_attribute: str | None = None
    description: str = ""

    @property
    def local_name(self) -> str:
        """Physical name in the local run (CDK lets CloudFormation name deployed tables)."""
        return f"switchboard-{self.key}"


@dataclass(frozen=True)
class Route:
    """An API Gateway REST resource path and method that proxies to a function."""

    method: str  # GET, POST, ..., or ANY
    path: str  # API Gateway resource path, e.g. /v1/{proxy+}


@dataclass(frozen=True)
class Queue:
    """An SQS queue (SSE, TLS only). With `max_receive_count`, a dead-letter queue `<key>-dlq`
    takes messages that failed that many receives; its depth has an alarm."""

    key: str
    env_var: str  # environment variable that carries the queue URL
    visibility_timeout_s: int = 60
    retention_s: int = 14 * 24 * 3600
    max_receive_count: int | None = 5
    fifo: bool = False  # FIFO: ordered per MessageGroupId, deduplicated per MessageDeduplicationId
    description: str = ""

    @property
    def local_name(self) -> str:
        return f"switchboard-{self.key}" + (".fifo" if self.fifo else "")

    @property
    def dlq_local_name(self) -> str:
        return f"switchboard-{self.key}-dlq" + (".fifo" if self.fifo else "")

    @property
    def dlq_key(self) -> str | None:
        """Short name of the dead-letter queue (`<key>-dlq`), None when there is none."""
        return f"{self.key}-dlq" if self.max_receive_count else None


@dataclass(frozen=True)
class StreamTrigger:
    """A DynamoDB stream event source: partial batch responses, bisect on error, on-failure queue."""

    table: str  # table key
    batch_size: int = 100
    max_batching_window_s: int = 1
    max_retry_attempts: int = 10
    bisect_on_error: bool = True
    on_failure_queue: str | None = None  # queue key that receives failed batches' descriptions
    starting_position: str = "TRIM_HORIZON"


@dataclass(frozen=True)
class QueueTrigger:
    """An SQS event source with partial batch responses (ReportBatchItemFailures)."""

    queue: str  # queue key
    batch_size: int = 10
    max_batching_window_s: int = 0


@dataclass(frozen=True)
class ScheduleTrigger:
    """An EventBridge schedule (`rate(N minutes)`); the local run invokes on the same interval."""

    every_minutes: int = 1
    description: str = ""


Trigger = StreamTrigger | QueueTrigger | ScheduleTrigger


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda entry point: its code folder, handler, limits, access and triggers.

    `tables` is what the function uses: the declared access, plus READ on every table whose
    stream triggers it (a stream record is read from that table, and the handler tells the
    tables apart by their names in the environment). Both the environment (`environment`) and
    the IAM grants are built from `tables`, so a trigger can never reach a function that lacks
    its table's name or the right to read it.
    """

    name: str
    code: str  # folder under the repository root, e.g. functions/api
    handler: str  # module.attribute inside that folder
    description: str
    memory_mb: int = 512
    timeout_s: int = 29
    tables: dict[str, Access] = field(default_factory=dict)
    queues: tuple[str, ...] = ()  # queue keys the function sends to
    routes: tuple[Route, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    assume_roles: tuple[str, ...] = ()  # role ARN patterns it may assume (customers' accounts)

    def __post_init__(self) -> None:
        tables = dict(self.tables)
        for key in trigger_tables(self):
            tables.setdefault(key, Access.READ)
        object.__setattr__(self, "tables", tables)


def trigger_tables(spec: FunctionSpec) -> tuple[str, ...]:
    """The keys of the tables whose streams trigger `spec`, in declaration order."""
    return tuple(dict.fromkeys(t.table for t in spec.triggers if isinstance(t, StreamTrigger)))


OBJECTS = Table(
    key="objects",
    env_var="OBJECTS_TABLE",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        # Every list of a kind inside an org, newest updatedAt first (keys only: cheap to skip).
        Index(name="byList", partition_key="listPk", sort_key="listSk"),
        # Children of one parent (a customer's orders, a customer's conversations, ...).
        Index(name="byParent", partition_key="parentPk", sort_key="parentSk"),
    ),
    stream="NEW_AND_OLD_IMAGES",
    description="Org-scoped objects: customers, klasses, kobjects, conversations, messages, "
    "users, teams, tags, and the uniqueness guards for their identifiers.",
)

AUTH = Table(
    key="auth",
    env_var="AUTH_TABLE",
    partition_key="pk",
    indexes=(Index(name="byOrg", partition_key="orgPk", sort_key="orgSk", projection=Projection.ALL),),
    description="Orgs and API keys; keys are stored as SHA-256 hashes only.",
)

WEBHOOKS = Table(
    key="webhooks",
    env_var="WEBHOOKS_TABLE",
    partition_key="org",
    sort_key="id",
    stream="NEW_AND_OLD_IMAGES",  # a webhook turned off is an event for the data stream
    description="Outbound webhooks per org: URL, events, headers, signing secrets, on/off state.",
)

DELIVERIES = Table(
    key="deliveries",
    env_var="DELIVERIES_TABLE",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        # Failed and held deliveries of one webhook by time (sparse): what a redrive resends.
        Index(name="byStatus", partition_key="statusPk", sort_key="statusSk", projection=Projection.ALL),
        # Every delivery of an org, newest first: GET /v1/outbound-webhooks/transactions.
        Index(name="byOrg", partition_key="orgPk", sort_key="orgSk", projection=Projection.ALL),
    ),
    ttl_attribute="expiresAt",
    description="One item per (webhook, event): state, the event while it may be redriven, and "
    "every attempt; expires after the retention window.",
)

AUTOMATION = Table(
    key="automation",
    env_var="AUTOMATION_TABLE",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        # Newest first within one list: a debug hook's transactions, a workflow's runs; and,
        # oldest first, the enabled pullers by next run time (what the schedule polls).
        Index(name="byTime", partition_key="timePk", sort_key="timeSk", projection=Projection.ALL),
    ),
    ttl_attribute="expiresAt",
    stream="NEW_IMAGE",  # hook transactions and workflow runs are events for the data stream
    description="Inbound hooks (by id and by hash), hook transactions (idempotency and debug "
    "listing), workflows, workflow runs and pull pollers with their cursors.",
)

TABLES: tuple[Table, ...] = (OBJECTS, AUTH, WEBHOOKS, DELIVERIES, AUTOMATION)

DELIVERY_QUEUE = Queue(
    key="deliveries",
    env_var="DELIVERIES_QUEUE_URL",
    visibility_timeout_s=360,  # six times the deliver function's timeout, as AWS advises
    max_receive_count=5,
    description="One message per (webhook, event) attempt; retries re-enqueue with DelaySeconds.",
)

EVENTS_FAILED_QUEUE = Queue(
    key="events-failed",
    env_var="EVENTS_FAILED_QUEUE_URL",
    max_receive_count=None,
    description="On-failure destination of the object stream: batches the events function gave up on.",
)

WORKFLOW_RUNS_QUEUE = Queue(
    key="workflow-runs",
    env_var="WORKFLOW_RUNS_QUEUE_URL",
    visibility_timeout_s=2000,  # six times the runner's timeout (a run may take 5 minutes)
    max_receive_count=5,
    fifo=True,
    description="Hook transactions, events and calls that trigger workflows; ordered per group "
    "(a hook's groupBy value, an object id), deduplicated per transaction.",
)

BACKFILL_QUEUE = Queue(
    key="backfill",
    env_var="BACKFILL_QUEUE_URL",
    visibility_timeout_s=600,
    max_receive_count=5,
    description="One message per page of one kind of an org's objects to send to its data stream.",
)

FORWARD_FAILED_QUEUE = Queue(
    key="forward-failed",
    env_var="FORWARD_FAILED_QUEUE_URL",
    max_receive_count=None,
    description="On-failure destination of the forwarder's streams: batches it gave up on.",
)

QUEUES: tuple[Queue, ...] = (
    DELIVERY_QUEUE,
    EVENTS_FAILED_QUEUE,
    WORKFLOW_RUNS_QUEUE,
    BACKFILL_QUEUE,
    FORWARD_FAILED_QUEUE,
)

API_STAGE = "prod"  # the REST API's stage; the local run answers on /v1/... and /prod/v1/...
BASE_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "INFO"}

API = FunctionSpec(
    name="api",
    code="functions/api",
    handler="handler.handler",
    description="Switchboard REST API (Kustomer v1 compatible)",
    memory_mb=512,
    timeout_s=29,
    tables={
        "objects": Access.READ_WRITE,
        "auth": Access.READ,
        "webhooks": Access.READ_WRITE,
        "deliveries": Access.READ_WRITE,
        "automation": Access.READ_WRITE,
    },
    queues=("deliveries", "workflow-runs", "backfill"),
    assume_roles=("arn:aws:iam::*:role/KustomerDataStreamRole",),  # checks a registration
    routes=(
        Route("ANY", "/v1"),
        Route("ANY", "/v1/{proxy+}"),
        # The hook receive resources (and the resources above them) are more specific than
        # {proxy+}: API Gateway would answer MISSING_AUTHENTICATION_TOKEN (declared as 404, see
        # GATEWAY_RESPONSES) for a method they lack, so the management
        # routes that share those paths are declared on them.
        Route("ANY", "/v1/hooks"),
        Route("ANY", "/v1/hooks/form"),
        Route("ANY", "/v1/hooks/web"),
        Route("ANY", "/v1/hooks/form/{orgId}"),
        Route("ANY", "/v1/hooks/form/{orgId}/{hash}"),
        Route("ANY", "/v1/hooks/web/{hash}"),
    ),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-api"},
)

EVENTS = FunctionSpec(
    name="events",
    code="functions/events",
    handler="handler.handler",
    description="Turns each object change into one event and fans it out to subscribed webhooks",
    memory_mb=512,
    timeout_s=60,
    tables={"webhooks": Access.READ, "deliveries": Access.READ_WRITE, "automation": Access.READ},
    queues=("deliveries", "workflow-runs"),
    triggers=(StreamTrigger(table="objects", on_failure_queue="events-failed"),),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-events"},
)

DELIVER = FunctionSpec(
    name="deliver",
    code="functions/deliver",
    handler="handler.handler",
    description="Signs and POSTs one event to one webhook; schedules retries; turns webhooks off",
    memory_mb=512,
    timeout_s=60,
    tables={"webhooks": Access.READ_WRITE, "deliveries": Access.READ_WRITE},
    queues=("deliveries",),
    triggers=(QueueTrigger(queue="deliveries", batch_size=10),),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-deliver"},
)

HOOKS = FunctionSpec(
    name="hooks",
    code="functions/hooks",
    handler="handler.handler",
    description="Receives partner JSON on form and web hooks; answers 202 and queues a transaction",
    memory_mb=512,
    timeout_s=10,
    tables={"auth": Access.READ, "automation": Access.READ_WRITE},
    queues=("workflow-runs",),
    routes=(Route("POST", "/v1/hooks/form/{orgId}/{hash}"), Route("POST", "/v1/hooks/web/{hash}")),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-hooks"},
)

WORKFLOWS = FunctionSpec(
    name="workflows",
    code="functions/workflows",
    handler="handler.handler",
    description="Runs the workflows a hook transaction, an event or a call triggers",
    memory_mb=1024,
    timeout_s=330,  # a run stops itself at 5 minutes; the margin lets it record that
    tables={"objects": Access.READ_WRITE, "automation": Access.READ_WRITE},
    triggers=(QueueTrigger(queue="workflow-runs", batch_size=10),),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-workflows"},
)

PULL = FunctionSpec(
    name="pull",
    code="functions/pull",
    handler="handler.handler",
    description="Polls pull-only partner endpoints with a cursor and posts new items to hooks",
    memory_mb=512,
    timeout_s=120,
    tables={"automation": Access.READ_WRITE},
    queues=("workflow-runs",),
    triggers=(ScheduleTrigger(every_minutes=1, description="poll every due puller"),),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-pull"},
)

FORWARD = FunctionSpec(
    name="forward",
    code="functions/forward",
    handler="handler.handler",
    description="Forwards every event of an org to the Kinesis stream in the org's own AWS account",
    memory_mb=1024,
    timeout_s=120,
    # READ on webhooks comes with its stream trigger (see FunctionSpec).
    tables={"objects": Access.READ, "automation": Access.READ_WRITE},
    queues=("backfill",),
    triggers=(
        StreamTrigger(
            table="objects", batch_size=1000, max_batching_window_s=1, on_failure_queue="forward-failed"
        ),
        StreamTrigger(
            table="automation", batch_size=500, max_batching_window_s=1, on_failure_queue="forward-failed"
        ),
        StreamTrigger(
            table="webhooks", batch_size=100, max_batching_window_s=1, on_failure_queue="forward-failed"
        ),
        QueueTrigger(queue="backfill", batch_size=1),
    ),
    assume_roles=("arn:aws:iam::*:role/KustomerDataStreamRole",),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-forward"},
)

FUNCTIONS: tuple[FunctionSpec, ...] = (API, EVENTS, DELIVER, HOOKS, WORKFLOWS, PULL, FORWARD)

# Custom metrics (CloudWatch embedded metric format) that the stack alarms on.
METRICS_NAMESPACE = "Switchboard"
WEBHOOK_DISABLED_METRIC = "WebhookDisabled"  # one per webhook turned off by failures or 410
WORKFLOW_RUN_FAILED_METRIC = "WorkflowRunFailed"  # one per run that ended failed or timed out


def environment(
    spec: FunctionSpec, table_names: dict[str, str], queue_urls: dict[str, str] | None = None
) -> dict[str, str]:
    """A function's environment: the base, one variable per table and queue it uses, then its own."""
    env = dict(BASE_ENVIRONMENT)
    for key in spec.tables:
        env[table(key).env_var] = table_names[key]
    for key in spec.queues:
        env[queue(key).env_var] = (queue_urls or {})[key]
    env.update(spec.environment)
    return env


def queue(key: str) -> Queue:
    """The declared queue with this short name."""
    for candidate in QUEUES:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def table(key: str) -> Table:
    """The declared table with this short name."""
    for candidate in TABLES:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


# --- API Gateway's own answers ----------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResponse:
    """What API Gateway answers itself (a request that never reaches a function), as JSON:API.

    `type` is API Gateway's response type; `status`, `code` and `title` are those of the error
    object. `detail` is fixed text, or None for API Gateway's own message
    (`$context.error.messageString`, a quoted JSON string). The deployed API (infra/api.py) and
    the local run (emulator/apigw.py) both answer `body_template()` with `$context.error...`
    substituted, so a client sees the same envelope as from the functions' errors.
    """

    type: str
    status: int
    code: str
    title: str
    detail: str | None = None

    def body_template(self) -> str:
        detail = "$context.error.messageString" if self.detail is None else _json_string(self.detail)
        return (
            f'{{"errors":[{{"status":"{self.status}","code":"{self.code}",'
            f'"title":"{self.title}","detail":{detail}}}]}}'
        )

    def body(self, message: str) -> bytes:
        """The body for API Gateway's `message` (what the local run answers)."""
        return self.body_template().replace("$context.error.messageString", _json_string(message)).encode()


def _json_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


NO_SUCH_ROUTE = "no such route"  # the functions' own 404 detail for a path no route serves

# Every response type a REST API has, each with a fixed status: DEFAULT_4XX/DEFAULT_5XX only
# catch types API Gateway adds later. The ones this API (no authorizer, no API keys, no request
# models, Lambda proxy methods) can give: MISSING_AUTHENTICATION_TOKEN (no resource or method
# matches: 404 as the functions answer for an unknown route), REQUEST_TOO_LARGE (a body over
# 10 MB, or an event over Lambda's 6 MB invocation limit), THROTTLED (stage throttling),
# WAF_FILTERED (with a web ACL), INTEGRATION_TIMEOUT, INTEGRATION_FAILURE, DEFAULT_5XX (a
# function that raised, timed out or answered a malformed proxy response: 502).
GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 404, "not_found", "Not found", NO_SUCH_ROUTE),
    GatewayResponse("RESOURCE_NOT_FOUND", 404, "not_found", "Not found", NO_SUCH_ROUTE),
    GatewayResponse(
        "REQUEST_TOO_LARGE",
        413,
        "payload_too_large",
        "Payload too large",
        "the request is larger than API Gateway or Lambda accept (10 MB and 6 MB)",
    ),
    GatewayResponse("THROTTLED", 429, "too_many_requests", "Too many requests"),
    GatewayResponse("QUOTA_EXCEEDED", 429, "too_many_requests", "Too many requests"),
    GatewayResponse("WAF_FILTERED", 403, "forbidden", "Forbidden"),
    GatewayResponse("ACCESS_DENIED", 403, "forbidden", "Forbidden"),
    GatewayResponse("EXPIRED_TOKEN", 403, "forbidden", "Forbidden"),
    GatewayResponse("INVALID_API_KEY", 403, "forbidden", "Forbidden"),
    GatewayResponse("INVALID_SIGNATURE", 403, "forbidden", "Forbidden"),
    GatewayResponse("UNAUTHORIZED", 401, "unauthorized", "Unauthorized"),
    GatewayResponse("BAD_REQUEST_BODY", 400, "bad_request", "Bad request"),
    GatewayResponse("BAD_REQUEST_PARAMETERS", 400, "bad_request", "Bad request"),
    GatewayResponse("UNSUPPORTED_MEDIA_TYPE", 415, "unsupported_media_type", "Unsupported media type"),
    GatewayResponse("DEFAULT_4XX", 400, "bad_request", "Bad request"),
    GatewayResponse("INTEGRATION_TIMEOUT", 504, "gateway_timeout", "Gateway timeout"),
    GatewayResponse("INTEGRATION_FAILURE", 504, "gateway_timeout", "Gateway timeout"),
    GatewayResponse("API_CONFIGURATION_ERROR", 500, "internal_error", "Internal error"),
    GatewayResponse("AUTHORIZER_CONFIGURATION_ERROR", 500, "internal_error", "Internal error"),
    GatewayResponse("AUTHORIZER_FAILURE", 500, "internal_error", "Internal error"),
    GatewayResponse("DEFAULT_5XX", 502, "bad_gateway", "Bad gateway"),
)


def gateway_response(response_type: str) -> GatewayResponse:
    return next(r for r in GATEWAY_RESPONSES if r.type == response_type)
