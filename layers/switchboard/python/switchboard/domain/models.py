"""Request bodies of the object API (pydantic). Unknown attributes are refused (400 with a pointer).

All fields are optional so one model serves create, PUT and PATCH; the service enforces what a
create requires. `custom` is checked by suffix in the service, against the klass for kobjects.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from switchboard.domain.attributes import CUSTOM_MAX_KEYS, NAME, SPACE
from switchboard.ids import normalize_iso

# Each rule on a string is one regular expression, declared once (`matching`): the validator
# applies it and the OpenAPI document states it as the property's `pattern`. They are written
# in the common subset of Python, ECMA-262 and Rust regexes (explicit classes, no \s or \d,
# whose meanings differ), so every reader of the document agrees with the validator.
# SPACE is Python's whitespace (`str.isspace`, what `str.strip` removes), spelled out.
OBJECT_ID = r"^[0-9a-f]{24}$"
# Surrounding whitespace is allowed (and removed); inside, no `@` and no whitespace.
EMAIL = rf"^[{SPACE}]*[^@{SPACE}]{{1,64}}@[^@{SPACE}]+\.[^@{SPACE}]+[{SPACE}]*$"
# Spaces, dots, dashes and brackets may format a phone; without them it is E.164.
_FORMAT = rf"[{SPACE}().\-]*"
PHONE = rf"^{_FORMAT}\+{_FORMAT}[1-9](?:{_FORMAT}[0-9]){{6,14}}{_FORMAT}$"
KLASS_NAME = r"^[A-Za-z0-9_-]{1,64}$"
_PHONE_FORMATTING = re.compile(rf"[{SPACE}().\-]")


def matching(regex: str, message: str) -> tuple[AfterValidator, Any]:
    """Annotations for a string that must match `regex` (refused with `message`), stated in the
    schema as `pattern: regex`."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return AfterValidator(check), Field(json_schema_extra={"pattern": regex})


ShortStr = Annotated[str, Field(max_length=256)]
Name = Annotated[str, Field(min_length=1, max_length=256)]
ExternalId = Annotated[str, Field(min_length=1, max_length=256)]
# Ids of other objects of the org (checked by the service against the kind's `references`);
# tags are ids of tag objects, as in Kustomer.
ObjectId = Annotated[str, *matching(OBJECT_ID, "must be a 24-hex object id")]


def first_of_each(values: list[str]) -> list[str]:
    """Kustomer keeps these lists as sets: an id given again is dropped, the first one stays."""
    return list(dict.fromkeys(values))


# At most 100 ids sent; duplicates are dropped (members, assignedUsers/Teams, tags).
IdList = Annotated[list[ObjectId], Field(max_length=100), AfterValidator(first_of_each)]
Tags = IdList
Email = Annotated[str, Field(max_length=254), *matching(EMAIL, "must be an email address")]
Phone = Annotated[
    str,
    Field(max_length=32),
    *matching(PHONE, "must be a phone number in E.164 form, e.g. +14155550100"),
]
_HEX_ID = re.compile(r"[0-9a-fA-F]{24}")


def _not_an_id(value: str) -> str:
    """A klass is addressed by id or by name at one path, so a name may not look like an id."""
    if _HEX_ID.fullmatch(value):
        raise ValueError("must not be 24 hex characters, the shape of an id")
    return value


KlassName = Annotated[
    str, *matching(KLASS_NAME, "must be 1-64 letters, digits, '_' or '-'"), AfterValidator(_not_an_id)
]


def _date(value: str | None) -> str | None:
    return None if value is None else normalize_iso(value)


def normalize_email(value: str) -> str:
    """Emails identify customers case-insensitively."""
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """Phones identify customers in E.164 form; spaces, dots, dashes and brackets are dropped."""
    return _PHONE_FORMATTING.sub("", value)


class Strict(BaseModel):
    """Unknown attributes are refused. Validators are built on first use (`defer_build`): a cold
    start pays only for the models its first request needs."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class EmailEntry(Strict):
    type: ShortStr | None = None
    email: Email
    verified: bool | None = None

    @field_validator("email")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()


class PhoneEntry(Strict):
    type: ShortStr | None = None
    phone: Phone
    verified: bool | None = None

    @field_validator("phone")
    @classmethod
    def _normalized(cls, value: str) -> str:
        return normalize_phone(value)


class UrlEntry(Strict):
    type: ShortStr | None = None
    url: Annotated[str, Field(max_length=2048)]


class Location(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    type: ShortStr | None = None
    name: ShortStr | None = None


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class Writable(Strict):
    """Attributes every object accepts: optimistic `rev` on updates and import timestamps."""

    # strict: true is not 1; but 2.0 is 2, an integer as JSON Schema counts them
    rev: Annotated[int, Field(ge=1, strict=True), BeforeValidator(_whole)] | None = None
    importedAt: str | None = None

    _dates = field_validator("importedAt")(_date)


class CustomerBody(Writable):
    name: ShortStr | None = None
    externalId: ExternalId | None = None
    username: ShortStr | None = None
    company: ShortStr | None = None
    avatarUrl: Annotated[str, Field(max_length=2048)] | None = None
    # At most 20 each: an update that swaps every identifier stays within one 100-item transaction.
    emails: Annotated[list[EmailEntry], Field(max_length=20)] | None = None
    phones: Annotated[list[PhoneEntry], Field(max_length=20)] | None = None
    urls: Annotated[list[UrlEntry], Field(max_length=50)] | None = None
    locations: Annotated[list[Location], Field(max_length=50)] | None = None
    tags: Tags | None = None
    birthdayAt: str | None = None
    signedUpAt: str | None = None
    gender: Literal["m", "f", "x"] | None = None
    defaultLang: Annotated[str, Field(max_length=16)] | None = None
    locale: Annotated[str, Field(max_length=16)] | None = None
    timeZone: Annotated[str, Field(max_length=64)] | None = None
    custom: dict[str, Any] | None = None

    _customer_dates = field_validator("birthdayAt", "signedUpAt")(_date)


class KlassProperty(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    displayName: ShortStr | None = None


# A klass property names a custom attribute of its kobjects: the same names, as many as `custom`
# may hold. `propertyNames` states the rule in the schema (a name that fails it is a 400).
PropertyName = Annotated[
    str, *matching(NAME, "must end with a type suffix: Str, Txt, Num, At, Bool, Url or Id")
]


class KlassMetadata(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    properties: Annotated[
        dict[PropertyName, KlassProperty],
        Field(max_length=CUSTOM_MAX_KEYS, json_schema_extra={"propertyNames": {"pattern": NAME}}),
    ] = Field(default_factory=dict)


class KlassBody(Writable):
    name: KlassName | None = None
    displayName: ShortStr | None = None
    description: Annotated[str, Field(max_length=2048)] | None = None
    icon: ShortStr | None = None
    color: Annotated[str, Field(max_length=32)] | None = None
    metadata: KlassMetadata | None = None


class KObjectBody(Writable):
    title: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    description: Annotated[str, Field(max_length=4096)] | None = None
    externalId: ExternalId | None = None
    customer: ObjectId | None = None
    data: dict[str, Any] | None = None
    custom: dict[str, Any] | None = None
    tags: Tags | None = None
    images: Annotated[list[Annotated[str, Field(max_length=2048)]], Field(max_length=20)] | None = None
    icon: ShortStr | None = None
    createdAt: str | None = None

    _kobject_dates = field_validator("createdAt")(_date)


class ConversationBody(Writable):
    customer: ObjectId | None = None
    name: ShortStr | None = None
    externalId: ExternalId | None = None
    status: Literal["open", "snoozed", "done"] | None = None
    priority: Annotated[int, Field(ge=1, le=5)] | None = None
    direction: Literal["in", "out"] | None = None
    channels: Annotated[list[ShortStr], Field(max_length=20)] | None = None
    tags: Tags | None = None
    assignedUsers: IdList | None = None
    assignedTeams: IdList | None = None
    custom: dict[str, Any] | None = None


class MessageMeta(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)
    from_: Annotated[str | None, Field(alias="from", max_length=1024)] = None
    to: Annotated[list[Annotated[str, Field(max_length=1024)]] | None, Field(max_length=100)] = None


class MessageBody(Writable):
    conversation: ObjectId | None = None
    customer: ObjectId | None = None
    externalId: ExternalId | None = None
    channel: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    app: ShortStr | None = None
    direction: Literal["in", "out"] | None = None
    preview: Annotated[str, Field(max_length=1024)] | None = None
    body: Annotated[str, Field(max_length=131_072)] | None = None
    subject: Annotated[str, Field(max_length=1024)] | None = None
    meta: MessageMeta | None = None
    status: Literal["received", "sent", "delivered", "read", "failed", "pending"] | None = None
    sentAt: str | None = None
    custom: dict[str, Any] | None = None

    _message_dates = field_validator("sentAt")(_date)


class UserBody(Writable):
    name: ShortStr | None = None
    displayName: ShortStr | None = None
    email: Email | None = None
    userType: Literal["user", "machine"] | None = None
    custom: dict[str, Any] | None = None


class TeamBody(Writable):
    name: Name | None = None
    displayName: ShortStr | None = None
    icon: ShortStr | None = None
    members: IdList | None = None


class TagBody(Writable):
    name: Name | None = None
    color: Annotated[str, Field(max_length=32)] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None
