"""The API's words read in Portuguese on the console: every message a service can give a field
(its own texts, found in its source, and marshmallow's, read from the fields and validators its
schemas use) and every detail a service, the kit or the gateway can give a problem has a
translation; a refused form shows its message next to its field, a refusal flashes its detail."""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import itertools
import pkgutil
import re
import string
import textwrap
from collections.abc import Iterator
from pathlib import Path

import marshmallow as ma
import pytest

import services
from services.console import pages
from services.console.messages import in_portuguese
from services.kit.errors import Problem
from services.kit.pagination import GIVEN_TWICE, GIVEN_TWICE_LIST
from services.payments import models as payment_models
from services.payments import reasons
from services.payments.models import REVIEW_CAUSE_MAX

from .conftest import csrf_of, form_fields, sign_in

SERVICES = Path(services.__file__).parent
# A number where a message is templated: "At most {most} ids." -> "At most 7 ids."
SAMPLE = "7"


def _api_sources() -> list[Path]:
    """Every service's code, the kit's included: not tests, not migrations, not the console
    (whose own texts are Portuguese already)."""
    return sorted(
        path
        for path in SERVICES.rglob("*.py")
        if not {"tests", "migrations", "console", "__pycache__"} & set(path.parts)
    )


def _api_modules() -> list:
    modules = []
    for found in pkgutil.walk_packages(services.__path__, "services."):
        parts = set(found.name.split("."))
        if not {"tests", "migrations", "console"} & parts:
            modules.append(importlib.import_module(found.name))
    return modules


# ---- the services' own texts, from their source ----


def _constants(tree: ast.AST) -> dict[str, str]:
    """A module's NAME = "text" constants (a message may be kept in one, phone.NOT_A_MOBILE)."""
    return {
        target.id: node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _choices_of(name: str, scope: ast.AST) -> list[str] | None:
    """What a local `name` holds when it is only ever given literal texts (`word = "a" if x else
    "b"`), for an f-string that says it: each is a message of its own."""
    texts: list[str] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            values = (
                [node.value.body, node.value.orelse]
                if isinstance(node.value, ast.IfExp)
                else [node.value]
            )
            if not all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
                return None
            texts.extend(v.value for v in values)
    return texts or None


def _texts(node: ast.AST, constants: dict[str, str], scope: ast.AST) -> list[str]:
    """The messages an expression can be: a literal, a module constant, or an f-string with a
    sample number (or each literal a local holds) in place of each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if isinstance(node, ast.JoinedStr):
        variants = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                options = [str(part.value)]
            else:
                value = part.value
                options = (
                    _choices_of(value.id, scope) if isinstance(value, ast.Name) else None
                ) or [SAMPLE]
            variants = [done + option for done in variants for option in options]
        return variants
    return []


def _field_messages(node: ast.AST, constants, scope) -> list[str]:
    """The texts of an `errors` mapping written out: {"field": ["message", f"message {n}"]}."""
    found = []
    if isinstance(node, ast.BoolOp):  # body.get("errors") or {"items": [f"…"]}
        found += [
            text for value in node.values for text in _field_messages(value, constants, scope)
        ]
    if isinstance(node, ast.Dict):
        for value in node.values:
            if isinstance(value, ast.List):
                found += [text for each in value.elts for text in _texts(each, constants, scope)]
            elif isinstance(value, ast.ListComp):
                found += _texts(value.elt, constants, scope)
    return found


def _scopes(tree: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    """Each node with the function it is in (the module for one outside any)."""
    stack = [(tree, tree)]
    while stack:
        node, scope = stack.pop()
        yield node, scope
        inner = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else scope
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _name_of(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


PROBLEMS_WITH_FIELDS = {"Unprocessable", "Conflict", "NotFound"}
# What a list of one field's messages is called where it is built up (`problems.append(f"…")`).
LISTS_OF_MESSAGES = {"problems", "errors"}


def _source_messages(path: Path) -> set[str]:
    """What `path` gives a field: ValidationError("…"), a validator's error="…", an errors
    mapping ({"field": ["…"]}) raised or kept for one, and texts put under a field
    (`errors[path] = [MESSAGE]`, `problems.append(f"…")`, `return [f"…"]` of a helper whose
    list is a field's messages)."""
    tree = ast.parse(path.read_text(), str(path))
    constants = _constants(tree)
    mappings = {
        node.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and ast.unparse(node.annotation) == "dict[str, list[str]]"
    }
    # A helper whose list is a field's messages in a mapping: {key: _too_long(…) for key in …}
    helpers = {
        _name_of(value)
        for node in ast.walk(tree)
        for value in (
            [node.value] if isinstance(node, ast.DictComp) else getattr(node, "values", None) or []
        )
        if isinstance(node, ast.DictComp | ast.Dict) and isinstance(value, ast.Call)
    }
    found: set[str] = set()
    for node, scope in _scopes(tree):
        if isinstance(node, ast.Call):
            name = _name_of(node)
            if (
                name == "append"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in LISTS_OF_MESSAGES
            ):
                found.update(t for each in node.args for t in _texts(each, constants, scope))
            if name == "ValidationError" and node.args:
                found.update(_texts(node.args[0], constants, scope))
            if name in PROBLEMS_WITH_FIELDS and node.args:
                found.update(_field_messages(node.args[0], constants, scope))
            for keyword in node.keywords:
                if keyword.arg == "error":
                    found.update(_texts(keyword.value, constants, scope))
                elif keyword.arg == "errors":
                    found.update(_field_messages(keyword.value, constants, scope))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            # no_client = {"client_id": [f"Client {client_id} does not exist."]}
            if all(isinstance(v, ast.List | ast.ListComp) for v in node.value.values):
                found.update(_field_messages(node.value, constants, scope))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            # errors[path] = [MESSAGE], into a `name: dict[str, list[str]]`
            if any(
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id in mappings
                for target in node.targets
            ):
                found.update(t for each in node.value.elts for t in _texts(each, constants, scope))
        elif (
            isinstance(node, ast.Return)
            and isinstance(node.value, ast.List)
            and getattr(scope, "name", None) in helpers
        ):
            found.update(t for each in node.value.elts for t in _texts(each, constants, scope))
    return found


def _value_error_messages() -> set[str]:
    """A field that says a ValueError's own text (`ValidationError(str(exc))`, as the CPF, the
    phone and the barcode fields do): the texts of the ValueErrors the checker it calls raises."""
    found: set[str] = set()
    for module in _api_modules():
        try:
            tree = ast.parse(inspect.getsource(module))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            says_the_error = any(
                isinstance(call, ast.Call)
                and _name_of(call) == "ValidationError"
                and call.args
                and isinstance(call.args[0], ast.Call)
                and _name_of(call.args[0]) == "str"
                for handler in node.handlers
                for call in ast.walk(handler)
            )
            if not says_the_error:
                continue
            for statement in node.body:
                for call in ast.walk(statement):
                    if isinstance(call, ast.Call):
                        checker = _resolve(module, call.func)
                        if checker is not None:
                            found |= _raised_value_errors(checker)
    return found


def _resolve(module, func: ast.AST):
    """The module-level function a call names (`normalise`, `phone.normalise`), if it is one
    of the services'."""
    path = []
    while isinstance(func, ast.Attribute):
        path.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    found = getattr(module, func.id, None)
    for attr in path:
        found = getattr(found, attr, None)
    if inspect.isfunction(found) and found.__module__.startswith("services."):
        return found
    return None


def _raised_value_errors(function) -> set[str]:
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    constants = {k: v for k, v in function.__globals__.items() if isinstance(v, str)}
    return {
        text
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and _name_of(node.exc) == "ValueError"
        and node.exc.args
        for text in _texts(node.exc.args[0], constants, tree)
    }


# ---- marshmallow's texts, from the fields and validators the schemas use ----


def _schemas() -> set[type[ma.Schema]]:
    _api_modules()
    found, pending = set(), [ma.Schema]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("services.") and ".console" not in sub.__module__:
                found.add(sub)
    return found


def _fields(field: ma.fields.Field) -> Iterator[ma.fields.Field]:
    """A field and those inside it (a list's items, a mapping's keys and values)."""
    yield field
    for inner in (
        getattr(field, "inner", None),
        getattr(field, "key_field", None),
        getattr(field, "value_field", None),
    ):
        if isinstance(inner, ma.fields.Field):
            yield from _fields(inner)
    for inner in getattr(field, "tuple_fields", None) or ():
        yield from _fields(inner)


def _formatted(template: str, **known) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format(**{name: known.get(name, SAMPLE) for name in names})


def _validator_messages(rule) -> list[str]:
    """What a marshmallow validator says, with its own bounds and choices."""
    if isinstance(rule, ma.validate.Length | ma.validate.Range):
        if getattr(rule, "equal", None) is not None:
            names = ["message_equal"]
        elif rule.min is not None and rule.max is not None:
            names = ["message_all"]
        else:
            names = ["message_min" if rule.min is not None else "message_max"]
        return [rule._format_error(SAMPLE, getattr(rule, name)) for name in names]
    if isinstance(rule, ma.validate.Validator):
        return [rule._format_error(SAMPLE)]
    return []  # a function: its texts are in the source


def _marshmallow_messages() -> set[str]:
    found: set[str] = set()
    for schema in _schemas():
        instance = schema()
        found.update(instance.error_messages.values())
        for declared in schema._declared_fields.values():
            if declared.dump_only:
                continue
            for field in _fields(declared):
                for key, template in field.error_messages.items():
                    if key == "format":
                        continue  # said when a value cannot be written out, never of a request
                    found.add(
                        _formatted(
                            template,
                            obj_type=getattr(field, "OBJ_TYPE", "datetime"),
                            awareness=getattr(field, "AWARENESS", "aware"),
                        )
                    )
                for rule in field.validators:
                    found.update(_validator_messages(rule))
    # And each validator's own wording, with sample bounds, for one a schema builds later.
    for rule in (
        ma.validate.Length(min=1, max=200),
        ma.validate.Length(min=1),
        ma.validate.Length(max=200),
        ma.validate.Length(equal=2),
        ma.validate.Range(min=0),
        ma.validate.Range(max=100),
        ma.validate.Range(min=1, max=100),
        ma.validate.Range(min=0, min_inclusive=False),
        ma.validate.Range(max=100, max_inclusive=False),
        ma.validate.OneOf(["pix", "card"]),
        ma.validate.NoneOf([0]),
        ma.validate.Email(),
        ma.validate.URL(),
        ma.validate.Regexp("x"),
    ):
        found.update(_validator_messages(rule))
    return found


def every_field_message() -> set[str]:
    found = set().union(*map(_source_messages, _api_sources()))
    return found | _value_error_messages() | _marshmallow_messages()


def test_the_kits_query_messages_held_in_constants_read_in_portuguese():
    # Raised from a comprehension over module constants, which the scan below does not follow.
    for text in (GIVEN_TWICE, GIVEN_TWICE_LIST):
        assert in_portuguese(text) != text


def test_every_field_message_the_api_can_give_reads_in_portuguese():
    messages = every_field_message()
    # The scan finds what it must (a scan that found nothing would pass anything).
    assert {
        "Missing data for required field.",
        "Not a valid integer.",
        "Must not be blank.",
        "The check digits do not match.",
        "Must be 8 to 256 characters long.",
        "Client 7 does not exist.",
        "Must be greater than 0.",
        "Must be at least 7.",
    } <= messages
    untranslated = sorted(text for text in messages if in_portuguese(text) == text)
    assert untranslated == [], "add these to services/console/messages.py"


# ---- problems' details: what a service, the kit or the gateway says of a refusal ----

REPO = SERVICES.parent
# An nginx variable in the gateway's details ("No route for $uri") is a value like any other.
NGINX_VARIABLE = re.compile(r"\$\w+")


def _problem_classes() -> dict[str, type[Problem]]:
    found, pending = {"Problem": Problem}, [Problem]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("services.") and ".tests" not in sub.__module__:
                found[sub.__name__] = sub
    return found


def _says_a_problem() -> dict[str, set[int]]:
    """What can be called with a problem's detail or title, and at which positions: the kit's
    problems (Conflict("…"), Unprocessable(errors, "…")) and any function of the services that
    takes a `detail` or a `title` (problem_response(409, "Conflict", "…"), _unauthorized("…"))."""
    takers: dict[str, set[int]] = {}
    for name, cls in _problem_classes().items():
        params = list(inspect.signature(cls.__init__).parameters)[1:]
        takers[name] = {i for i, param in enumerate(params) if param in ("detail", "title")}
    for path in _api_sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("__"):
                params = [arg.arg for arg in node.args.posonlyargs + node.args.args]
                positions = {i for i, param in enumerate(params) if param in ("detail", "title")}
                if positions:
                    takers.setdefault(node.name, set()).update(positions)
    return takers


def _detail_texts(node: ast.AST, constants: dict[str, str], scope: ast.AST) -> list[str]:
    """As _texts, and what either branch of `a if x else b`, either side of `a or b` and a text
    joined to a value (`"Invalid fields: " + fields`) can be."""
    if isinstance(node, ast.IfExp):
        return [
            text
            for branch in (node.body, node.orelse)
            for text in _detail_texts(branch, constants, scope)
        ]
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _detail_texts(value, constants, scope)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _detail_texts(node.left, constants, scope) or [SAMPLE]
        right = _detail_texts(node.right, constants, scope) or [SAMPLE]
        return [one + other for one in left for other in right]
    return _texts(node, constants, scope)


def _source_details(path: Path, takers: dict[str, set[int]]) -> set[str]:
    """What `path` gives a problem as its detail or title: the arguments in those places of a
    call to one of `takers` (or named detail= / title=), and what a local `detail` is set to."""
    tree = ast.parse(path.read_text(), str(path))
    constants = _constants(tree)
    found: set[str] = set()
    for node, scope in _scopes(tree):
        if isinstance(node, ast.Call) and _name_of(node) in takers:
            for position in takers[_name_of(node)]:
                if position < len(node.args):
                    found.update(_detail_texts(node.args[position], constants, scope))
            for keyword in node.keywords:
                if keyword.arg in ("detail", "title"):
                    found.update(_detail_texts(keyword.value, constants, scope))
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "detail" for target in node.targets
        ):
            found.update(_detail_texts(node.value, constants, scope))
    return found


def _gateway_details() -> set[str]:
    """The problems nginx answers itself: stack/gateway.py's PROBLEMS (title and detail), and the
    details written out in the gateway's templates."""
    source = (REPO / "stack" / "gateway.py").read_text()
    problems = next(
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PROBLEMS" for t in node.targets)
    )
    found = {text for row in ast.literal_eval(problems) for text in row[2:4]}
    for template in (REPO / "gateway" / "templates").glob("*.j2"):
        text = template.read_text()
        found.update(re.findall(r'"detail":"([^"{]+)"', text))
        found.update(re.findall(r'map \$auth_error \$auth_detail \{\s*""\s+"([^"]+)"', text))
    # "$auth_detail" is auth's own detail, passed on: found in auth's source.
    return {
        NGINX_VARIABLE.sub(SAMPLE, text) for text in found if not NGINX_VARIABLE.fullmatch(text)
    }


def every_problem_detail() -> set[str]:
    takers = _says_a_problem()
    found = set().union(*(_source_details(path, takers) for path in _api_sources()))
    titles = {cls.title for cls in _problem_classes().values()}
    return found | titles | _gateway_details()


def test_every_problem_detail_the_api_can_give_reads_in_portuguese():
    details = every_problem_detail()
    # The scan finds what it must: each way a detail is written (a scan that found nothing would
    # pass anything).
    assert {
        "The last active admin cannot be demoted or deactivated",  # Conflict("…")
        "An order that is 7 cannot become 7",  # an f-string
        "The email or password is wrong",  # a module's constant
        "The bearer token has expired",  # a branch of `a if x else b`
        "Too many failed logins for this account; try again later",  # TooManyRequests("…", …)
        "The payment provider refused the payment",  # Unprocessable(errors, detail="…")
        "The bearer token's user no longer exists",  # a helper that takes `detail`
        "The change conflicts with stored data",  # problem_response(409, "Conflict", "…")
        "Invalid fields: 7",  # a text joined to a value
        "No route for 7",  # detail = f"…"
        "Not Found",  # a problem's title
        "The service is unavailable; try again shortly",  # the gateway's own
        "A valid bearer token is required",  # the gateway's, from its templates
    } <= details
    untranslated = sorted(text for text in details if in_portuguese(text) == text)
    assert untranslated == [], "add these to services/console/messages.py"


# ---- a payment's review_reason: why payments flagged it for an admin ----

# What each named field of payments' reasons (services/payments/reasons.py) is said as here: each
# template is formatted with every sample of its fields. `refused` also takes the texts of
# REFUND_FAILED_AT_ONCE (payments' own words for a refund made and failed at once).
REVIEW_SAMPLES: dict[str, tuple[str, ...]] = {
    "sent_at": ("2026-12-06T18:13:43.512006+00:00",),
    "payment_id": ("41",),
    "received": ("900",),
    "cents": ("1000",),
    "amount": ("10.00",),
    "asked_at": ("2026-12-06T18:13:43.512006+00:00",),
    "refund_ref": ("re_1Ab",),
    "intent_ref": ("pi_1Ab",),
    "refund_status": ("failed", "canceled"),
    "code": ("expired_or_canceled_card", reasons.NO_CODE),
    "why": reasons.LET_GO,
    "refused": ("Charge ch_1Ab has been disputed",),
}
# Every text of the reasons module but its parts, by name (plain data: a test reads each).
REVIEW_TEMPLATES = sorted(
    name
    for name, value in vars(reasons).items()
    if name.isupper() and isinstance(value, str) and value not in reasons.PARTS
)


def _review_texts(name: str) -> list[str]:
    """payments' reason `name` formatted with every combination of its fields' samples; a field
    with no sample fails the test that asks, saying which."""
    template = getattr(reasons, name)
    fields = sorted(
        {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    )
    samples = {}
    for field in fields:
        if field not in REVIEW_SAMPLES:
            pytest.fail(f"reasons.{name} names {{{field}}}: give it samples in REVIEW_SAMPLES")
        samples[field] = REVIEW_SAMPLES[field]
        if field == "refused":
            samples[field] += tuple(_review_texts("REFUND_FAILED_AT_ONCE"))
    return [
        template.format(**dict(zip(fields, values, strict=True)))
        for values in itertools.product(*(samples[field] for field in fields))
    ]


def test_payments_reasons_are_these_and_no_more():
    # A reason added to payments fails here until its samples and translation are added, and
    # until it is in TEMPLATES (or PARTS): `_flag` takes no other.
    assert {getattr(reasons, name) for name in REVIEW_TEMPLATES} == reasons.TEMPLATES
    assert REVIEW_TEMPLATES == [
        "ASK_UNANSWERED",
        "INTENT_LOST",
        "NOT_RETURNED",
        "OTHER_AMOUNT",
        "REFUND_LOST",
        "REFUND_REFUSED",
        "UNANSWERED",
    ]


@pytest.mark.parametrize("name", REVIEW_TEMPLATES)
def test_every_review_reason_payments_can_give_reads_in_portuguese(name):
    untranslated = [
        text
        for text in _review_texts(name)
        if in_portuguese(text) == text or " the " in in_portuguese(text)
    ]
    assert untranslated == [], "add these to services/console/messages.py"


@pytest.mark.parametrize(
    ("english", "portuguese"),
    [
        (
            "An order that is delivered cannot become cancelled",
            "Um pedido entregue não pode passar a cancelado",
        ),
        ("Order 12 does not exist", "O pedido 12 não existe"),
        # payments' own words for a refund failed at once, inside the refusal's detail
        (
            "The payment provider refused the refund: "
            + reasons.REFUND_FAILED_AT_ONCE.format(refund_status="failed"),
            "O provedor de pagamento recusou o estorno: o estorno falhou no provedor: nada foi "
            "devolvido",
        ),
        (
            "The payment provider refused the refund: Charge ch_1 has been disputed",
            "O provedor de pagamento recusou o estorno: Charge ch_1 has been disputed",
        ),
        ("Order 12 does not exist.", "O pedido 12 não existe."),
        (
            "Inventory refused to commit order 12's stock: "
            "Order 12's reservation is already released",
            "O estoque se recusou a dar baixa no estoque do pedido 12: "
            "A reserva do pedido 12 já está liberada",
        ),
        (
            "Not enough stock to place the order: products 3, 5",
            "Estoque insuficiente para registrar o pedido: produtos 3, 5",
        ),
        (
            "The clients service could not say whether the client exists",
            "O serviço de clientes não conseguiu dizer se o cliente existe.",
        ),
        (
            "Product 4 cannot be deleted: 3 units are on hand in inventory; 2 orders reference it",
            "O produto 4 não pode ser excluído: há 3 unidades em estoque; há 2 pedidos com ele",
        ),
        ("This action needs the role: admin", "Esta ação exige o papel: administrador"),
        (
            "Client 7 does not exist. Product 9 does not exist.",
            "O cliente 7 não existe. O produto 9 não existe.",
        ),
        (
            "The JSON body nests deeper than 64 levels",
            "O corpo JSON tem mais de 64 níveis de aninhamento",
        ),
        # a payment's review_reason, which the order page shows beside a flagged payment
        (
            reasons.NOT_RETURNED.format(
                refund_ref="re_1Ab", amount="10.00", refund_status="canceled", code=reasons.NO_CODE
            ),
            "O estorno re_1Ab de R$ 10,00 foi cancelado no provedor (sem motivo informado): o "
            "dinheiro não voltou ao cliente; estorne de novo ou acerte com ele",
        ),
        (
            reasons.NOT_RETURNED.format(
                refund_ref="re_1Ab",
                amount="10.00",
                refund_status="failed",
                code="expired_or_canceled_card",
            ),
            "O estorno re_1Ab de R$ 10,00 falhou no provedor (expired_or_canceled_card): o "
            "dinheiro não voltou ao cliente; estorne de novo ou acerte com ele",
        ),
        (
            reasons.REFUND_LOST.format(refund_ref="re_1Ab", amount="10.00"),
            "O provedor não conhece mais o estorno re_1Ab de R$ 10,00: veja no painel dele se o "
            "dinheiro voltou ao cliente (continua contado no valor estornado)",
        ),
        (
            reasons.INTENT_LOST.format(intent_ref="pi_1Ab"),
            "O provedor não conhece mais o PaymentIntent pi_1Ab: veja no painel dele se foi pago",
        ),
        (
            reasons.UNANSWERED.format(sent_at="2026-12-06T18:13:43.512006+00:00", payment_id=41),
            "Enviado ao provedor depois de 2026-12-06T18:13:43.512006+00:00 e nunca respondido; "
            "não foi perguntado de novo, pois o provedor pode ter esquecido a chave de "
            "idempotência: veja no provedor se um PaymentIntent com metadata payment_id 41 foi "
            "criado, e pago",
        ),
        (
            reasons.OTHER_AMOUNT.format(received=900, cents=1000),
            "O provedor informa 900 centavos recebidos; o pagamento é de 1000 centavos: o "
            "pedido não foi marcado como pago",
        ),
        (
            reasons.ASK_UNANSWERED.format(
                amount="10.00", asked_at="2026-12-06T18:13:43.512006+00:00"
            ),
            "Um estorno de R$ 10,00 pedido em 2026-12-06T18:13:43.512006+00:00 nunca foi "
            "respondido: veja os estornos deste pagamento no provedor",
        ),
        (
            reasons.REFUND_REFUSED.format(
                why=reasons.ORDER_CANCELLED,
                refused=reasons.REFUND_FAILED_AT_ONCE.format(refund_status="failed"),
            ),
            "O pedido foi cancelado; o estorno foi recusado: o estorno falhou no provedor: nada "
            "foi devolvido",
        ),
        (
            reasons.REFUND_REFUSED.format(
                why=reasons.ORDER_TOTAL_CHANGED, refused="Charge ch_1Ab has been disputed"
            ),
            "O total do pedido mudou; o estorno foi recusado: Charge ch_1Ab has been disputed",
        ),
    ],
)
def test_a_templated_detail_keeps_its_values_and_says_its_statuses_and_parts(english, portuguese):
    assert in_portuguese(english) == portuguese


def test_a_review_reason_cut_short_keeps_what_the_provider_said_as_far_as_it_goes():
    # A cause is cut at REVIEW_CAUSE_MAX (payments' `_flag`), within the provider's words.
    refused = "Charge ch_1Ab " + "cannot be refunded " * (REVIEW_CAUSE_MAX // 10)
    why = "Its order was paid another way"
    cut = reasons.REFUND_REFUSED.format(why=why, refused=refused)[:REVIEW_CAUSE_MAX]
    assert len(cut) == REVIEW_CAUSE_MAX
    said = in_portuguese(cut)
    assert said.startswith("O pedido foi pago de outra forma; o estorno foi recusado: Charge ")
    assert said.endswith(cut[-40:])


def test_a_review_reason_it_does_not_know_is_said_as_payments_gave_it_not_half_translated():
    english = reasons.REFUND_REFUSED.format(
        why="Its order was eaten by the cat", refused="Charge ch_1Ab has been disputed"
    )
    assert in_portuguese(english) == english


def test_a_detail_with_a_part_it_does_not_know_is_said_as_the_api_gave_it_not_half_translated():
    english = "The clients service could not count the stars"
    assert in_portuguese(english) == english


@pytest.mark.parametrize(
    ("english", "portuguese"),
    [
        ("Length must be between 1 and 120.", "O tamanho deve ser de 1 a 120."),
        ("Must be one of: pix, card.", "Deve ser um destes: pix, card."),
        ("Must be greater than or equal to 0.", "Deve ser maior ou igual a 0."),
        ("At most 12.50 is left to refund.", "Restam no máximo R$ 12,50 para estornar."),
        ("Product 3: 5 requested, 2 available", "Produto 3: 5 pedidos, 2 disponíveis"),
        # Bounds and counts as Brazilians write numbers; ids as the API gave them.
        (
            "Must be greater than or equal to 1 and less than or equal to 1000000.",
            "Deve ser de 1 a 1.000.000.",
        ),
        ("Must be at most 9999999999.99.", "Deve ser no máximo 9.999.999.999,99."),
        (
            "Product 1234: 5000 requested, 20 available",
            "Produto 1234: 5.000 pedidos, 20 disponíveis",
        ),
        ("Client 12345 does not exist.", "O cliente 12345 não existe."),
        (
            "Client 7 has 1 open (pending, paid or shipped) order",
            "O cliente 7 tem 1 pedido em aberto (pendente, pago ou enviado)",
        ),
    ],
)
def test_a_templated_message_keeps_its_numbers_and_choices(english, portuguese):
    assert in_portuguese(english) == portuguese


def test_a_message_it_does_not_know_is_said_as_the_api_gave_it():
    assert in_portuguese("Something new went wrong.") == "Something new went wrong."


def test_a_refused_form_shows_the_apis_message_in_portuguese_next_to_its_field(browser):
    page = browser.get("/console/register")
    answer = browser.post(
        "/console/register",
        data={
            "email": "bia@example.com",
            "password": "curta",
            "name": "   ",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 422
    assert said_next_to(answer.text, "password") == "Deve ter de 8 a 256 caracteres."
    assert said_next_to(answer.text, "name") == "Não pode ficar em branco."


def said_next_to(page: str, field: str) -> str:
    """The error the form shows under `field` (macros.html's `field`)."""
    found = re.search(
        rf'<p id="{field}-error" class="error" data-field="{field}">([^<]*)</p>', page
    )
    assert found, f"the form names an error for {field}"
    return html.unescape(found.group(1))


def test_a_refusals_detail_is_flashed_in_portuguese(browser):
    sign_in(browser)
    page = browser.get("/console/users", query_string={"email": "root@example.com"}).text
    admin = re.search(r'action="/console/users/(\d+)[?"]', page).group(1)
    # The only admin demoting itself: auth's 409, which names no field, only its detail.
    answer = browser.post(
        f"/console/users/{admin}",
        data={**form_fields(page, f"role-form-{admin}"), "role": "user"},
        follow_redirects=True,
    )
    said = html.unescape(answer.text)
    assert (
        "Não foi possível alterar: O último administrador ativo não pode deixar de ser "
        "administrador nem ser desativado."
    ) in said
    assert "last active admin" not in said


def test_the_console_says_apart_each_cause_payments_joined_in_one_review_reason():
    assert pages.REVIEW_REASONS_APART == payment_models.REVIEW_REASONS_APART
