"""The auth API: registration, login, token rotation, the caller's account and user admin."""

from __future__ import annotations

from urllib.parse import quote

from flask import request, url_for
from flask.views import MethodView
from sqlalchemy import select

from services.kit import (
    Blueprint,
    Forbidden,
    Unauthorized,
    conditional,
    current_caller,
    page_schema,
    paginate,
)
from services.kit.fields import normalized_email
from services.kit.security import ASSERTION_HEADER

from . import accounts
from .models import User, db
from .schemas import (
    JwksSchema,
    LoginSchema,
    MeUpdateSchema,
    RefreshSchema,
    RegisterSchema,
    TokenPairSchema,
    UserAdminUpdateSchema,
    UserListArgs,
    UserSchema,
    VouchedLoginSchema,
    VouchedRegisterSchema,
)

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Accounts, tokens and sessions")


def source_address() -> str:
    """The client's address as the gateway saw it: ProxyFix (one trusted proxy, see create_app)
    has put the X-Forwarded-For that nginx overwrites into remote_addr."""
    return request.remote_addr or "unknown"


@blp.route("/register", methods=["POST"])
@blp.arguments(RegisterSchema)
@blp.response(201, UserSchema)
@blp.problem(409, "The email is already registered")
@blp.problem(429, "Too many registrations from this address; see Retry-After")
def register(data):
    """Create an account (always with the role `user`). Throttled per source address."""
    return _registered(data, source_address())


def _registered(data: dict, source: str):
    accounts.count_registration(source)
    user = accounts.register(data["email"], data["password"], data["name"])
    return user, 201, {"Location": url_for("auth.UserResource", user_id=user.id)}


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenPairSchema)
@blp.problem(401, "Wrong email or password (the same answer whether or not the email exists)")
@blp.problem(429, "Too many failures from this address, or on this account; see Retry-After")
def login(data):
    """Trade credentials for an access token (15 min) and a refresh token."""
    return _signed_in(data, source_address())


def _signed_in(data: dict, source: str):
    return accounts.start_session(accounts.authenticate(data["email"], data["password"], source))


@blp.route("/vouched/register", methods=["POST"])
@blp.doc(tags=["internal"])
@blp.internal()
@blp.arguments(VouchedRegisterSchema)
@blp.response(201, UserSchema)
@blp.problem(409, "The email is already registered")
@blp.problem(429, "Too many registrations from that address; see Retry-After")
def vouched_register(data):
    """Internal, for the console's sign-up form: /auth/register, throttled per the browser's
    address (`address`), which the console vouches for with its credential."""
    return _registered(data, str(data["address"]))


@blp.route("/vouched/login", methods=["POST"])
@blp.doc(tags=["internal"])
@blp.internal()
@blp.arguments(VouchedLoginSchema)
@blp.response(200, TokenPairSchema)
@blp.problem(401, "Wrong email or password (the same answer whether or not the email exists)")
@blp.problem(429, "Too many failures from that address, or on this account; see Retry-After")
def vouched_login(data):
    """Internal, for the console's sign-in form: /auth/login, throttled per (email, the browser's
    address): many wrong passwords from one browser never block the same email in another."""
    return _signed_in(data, str(data["address"]))


@blp.route("/refresh", methods=["POST"])
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.problem(401, "Invalid, expired or already used refresh token")
def refresh(data):
    """Rotate: the refresh token is spent and a new pair issued. Reuse revokes the session,
    but for a retry: the spent token sent again within `REFRESH_REUSE_GRACE_S` (30 s) of its
    use, while the token it was traded for is still unused, gets a new pair in place of that
    one (which from then on counts as reused). Once that successor is used, or after the
    grace, the spent token revokes the session."""
    return accounts.rotate(data["refresh_token"])


@blp.route("/logout", methods=["POST"])
@blp.login_required()
@blp.response(204)
def logout():
    """End this session: its refresh tokens die now, the access token within 5 seconds."""
    accounts.logout(current_caller().session_id)


@blp.route("/me")
class Me(MethodView):
    @blp.login_required()
    @blp.response(200, UserSchema)
    @conditional
    def get(self):
        """The caller's account."""
        return accounts.get_user(current_caller().id)

    @blp.login_required()
    @blp.arguments(MeUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.problem(429, "Too many wrong current passwords in this session (as for sign-ins)")
    @blp.if_match()
    def patch(self, data):
        """Change the name or the password (the email cannot change); needs `current_password`.
        A stale If-Match is told before `current_password` is checked or counted."""
        caller = current_caller()
        return accounts.update_me(
            accounts.get_user(caller.id), caller.session_id, data, source_address()
        )

    @blp.login_required()
    @blp.response(204)
    @blp.problem(409, "The last active admin cannot delete itself")
    @blp.if_match()
    def delete(self):
        """Delete the caller's account."""
        accounts.delete_me(current_caller().id)


@blp.route("/users")
@blp.login_required("admin")
@blp.arguments(UserListArgs, location="query")
@blp.response(200, page_schema(UserSchema))
def users(args):
    """List accounts (admin)."""
    stmt = select(User)
    if "role" in args:
        stmt = stmt.where(User.role == args["role"])
    if "active" in args:
        stmt = stmt.where(User.active.is_(args["active"]))
    if "email" in args:
        stmt = stmt.where(User.email == normalized_email(args["email"]))
    sortable = {"email": User.email, "name": User.name, "created_at": User.created_at}
    return paginate(db, stmt, args, sortable, User.id)


@blp.route("/users/<int:user_id>")
class UserResource(MethodView):
    @blp.login_required()
    @blp.response(200, UserSchema)
    @blp.problem(403, "Another user's account, and the caller is not an admin")
    @blp.problem(404, "No such user")
    @conditional
    def get(self, user_id):
        """One account: an admin reads any, a user their own (the Location their registration
        answered), as GET /auth/me answers it, ETag included."""
        caller = current_caller()
        if caller.role != "admin" and caller.id != user_id:
            # Before looking: a user learns nothing of which other ids exist.
            raise Forbidden("This action needs the role: admin")
        return accounts.get_user(user_id)

    @blp.login_required("admin")
    @blp.arguments(UserAdminUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.problem(404, "No such user")
    @blp.problem(409, "The last active admin cannot be demoted or deactivated")
    @blp.if_match()
    def patch(self, data, user_id):
        """Change a role or (de)activate (admin). Either ends the user's sessions at once."""
        return accounts.administer(user_id, data)


@blp.route("/.well-known/jwks.json")
@blp.response(200, JwksSchema)
def jwks():
    """The public key that verifies every access token (RS256)."""
    return accounts.jwks()


# The punctuation RFC 5322 allows in an address, but `%`: an ASCII address goes as it is.
_ADDRESS_PUNCTUATION = "@!#$&'*+/=?^`{|}~"


def header_safe_email(email: str) -> str:
    """The address percent-encoded (UTF-8): gunicorn refuses a header value beyond latin-1 (a 500
    on every request of `łukasz@wp.pl`), and one in latin-1 but beyond ASCII reaches services
    as bytes whose encoding nobody could tell. `urllib.parse.unquote` gives the address back."""
    return quote(email, safe=_ADDRESS_PUNCTUATION)


@blp.route("/verify")
@blp.doc(tags=["internal"])
@blp.internal()
@blp.response(200)
@blp.problem(401, "The token is missing, invalid, expired or revoked")
def verify():
    """Internal, for the gateway's auth_request: answers who the caller is, in headers, and an
    assertion, valid for seconds, that the gateway passes on so services need not ask again."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("A bearer token is required")
        user = accounts.verified_caller(token.strip())
    except Unauthorized as exc:
        # nginx cannot read a subrequest's body; it puts this header in its own 401 problem.
        exc.headers["X-Auth-Error"] = exc.detail
        raise
    return (
        "",
        200,
        {
            "X-User-Id": str(user.id),
            "X-User-Role": user.role,
            "X-User-Email": header_safe_email(user.email),
            ASSERTION_HEADER: accounts.session_assertion(token.strip()),
            "Cache-Control": "no-store",
        },
    )
