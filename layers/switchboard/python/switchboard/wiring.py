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
class FunctionSpec:
    """One Lambda entry point: its code folder, handler, limits, table access and triggers."""

    name: str
    code: str  # folder under the repository root, e.g. functions/api
    handler: str  # module.attribute inside that folder
    description: str
    memory_mb: int = 512
    timeout_s: int = 29
    tables: dict[str, Access] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)


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

TABLES: tuple[Table, ...] = (OBJECTS, AUTH)

API_STAGE = "prod"  # the REST API's stage; the local run answers on /v1/... and /prod/v1/...
BASE_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "INFO"}

API = FunctionSpec(
    name="api",
    code="functions/api",
    handler="handler.handler",
    description="Switchboard REST API (Kustomer v1 compatible)",
    memory_mb=512,
    timeout_s=29,
    tables={"objects": Access.READ_WRITE, "auth": Access.READ},
    routes=(Route("ANY", "/v1"), Route("ANY", "/v1/{proxy+}")),
    environment={"POWERTOOLS_SERVICE_NAME": "switchboard-api"},
)

FUNCTIONS: tuple[FunctionSpec, ...] = (API,)


def environment(spec: FunctionSpec, table_names: dict[str, str]) -> dict[str, str]:
    """A function's environment: the base, one variable per table it uses, then its own."""
    env = dict(BASE_ENVIRONMENT)
    for key in spec.tables:
        env[table(key).env_var] = table_names[key]
    env.update(spec.environment)
    return env


def table(key: str) -> Table:
    """The declared table with this short name."""
    for candidate in TABLES:
        if candidate.key == key:
            return candidate
    raise KeyError(key)
