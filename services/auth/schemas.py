"""Request and response bodies of the auth API."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.kit import Filter, PageArgs, sort_field
from services.kit.fields import Email, Flag, FlagFilter, Text

from . import passwords

PASSWORD = validate.Length(min=8, max=256, error="Must be 8 to 256 characters long.")
PASSWORD_IS_EMAIL = "Must not be the e-mail address, nor its part before the @."  # noqa: S105 (a message)
TOO_EASY_TO_GUESS = (
    "Too easy to guess: a common password, close to one, or made of the e-mail or name. "
    "Use a longer phrase."
)


def password_is_the_email(password: str, email: str) -> bool:
    """The first guess of anyone who knows the address (OWASP's Authentication Cheat Sheet: a
    password must not be the account's own identifier), in any case."""
    guess = password.strip().casefold()
    email = email.casefold()
    return guess in (email, email.split("@", 1)[0])


def check_new_password(password: str, email: str, *names: str | None) -> None:
    """Refuse (ValidationError, on `password`) a new password that is the e-mail, or one zxcvbn
    guesses within about a million tries, knowing the e-mail and the account's names: wherever a
    password is set (registration, PATCH /auth/me, the accounts the stack creates)."""
    if password_is_the_email(password, email):
        raise ValidationError(PASSWORD_IS_EMAIL, "password")
    if passwords.guessable(password, [email, email.split("@", 1)[0], *names]):
        raise ValidationError(TOO_EASY_TO_GUESS, "password")


class UserSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    email = fields.Email(dump_only=True, metadata={"example": "ana@example.com"})
    name = fields.String(dump_only=True, metadata={"example": "Ana Souza"})
    role = fields.String(dump_only=True, metadata={"example": "user"})
    active = fields.Boolean(dump_only=True, metadata={"example": True})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RegisterSchema(Schema):
    class Meta:
        # A `role` (or anything else) sent at registration is ignored: nobody picks their role.
        unknown = EXCLUDE

    email = Email(required=True, metadata={"example": "ana@example.com"})
    password = fields.String(
        required=True, load_only=True, validate=PASSWORD, metadata={"example": "s3nha-forte"}
    )
    name = Text(120, required=True, metadata={"example": "Ana Souza"})


class LoginSchema(Schema):
    email = fields.String(
        required=True,
        validate=validate.Length(min=1, max=254),
        metadata={"example": "ana@example.com"},
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=256),
        metadata={"example": "s3nha-forte"},
    )


class VouchedAddress(Schema):
    """The address of the browser a sign-in or sign-up comes from, as the service that serves that
    browser (the console) saw it: auth's throttles count it instead of the caller's own."""

    address = fields.IP(required=True, metadata={"example": "203.0.113.7"})


class VouchedLoginSchema(LoginSchema, VouchedAddress):
    pass


class VouchedRegisterSchema(RegisterSchema, VouchedAddress):
    pass


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1))


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(
        required=True,
        metadata={"example": 900, "description": "Seconds until the access token expires"},
    )


class MeUpdateSchema(Schema):
    name = Text(120)
    password = fields.String(load_only=True, validate=PASSWORD)
    current_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=256)
    )

    @validates_schema
    def something_to_change(self, data, **kwargs):
        if "name" not in data and "password" not in data:
            raise ValidationError("Give a name or a password to change.", "_body")


class UserAdminUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf(["admin", "user"]))
    active = Flag()

    @validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("Give a role or active to change.", "_body")


class UserListArgs(PageArgs):
    role = Filter(choices=["admin", "user"])
    active = FlagFilter()
    email = Filter(max_length=Email.MAX, metadata={"description": "Exact email, case-insensitive"})
    sort = sort_field("email", "name", "created_at", default="created_at")


class JwksSchema(Schema):
    keys = fields.List(fields.Dict(), required=True)
