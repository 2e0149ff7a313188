"""The admin's pages: users (promote, deactivate), the catalogue collector's sources and runs,
the notifications log, and the payments waiting for review."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for

from . import api
from .api import ApiError
from .messages import in_portuguese
from .pages import (
    NOTHING_CHANGED,
    admin_only,
    bp,
    changed_only,
    finite_number,
    form_etag,
    form_values,
    page_args,
    pager,
    read_json,
)
from .sales import listed, listing, payments_read, refused

COLLECTOR_MISSING = "O coletor de catálogo não está disponível no momento."
# The collector page's lists as a request asks for them: a change made there goes back to them.
COLLECTOR_QUERY = ("source_id", "status", "page", "sources_page")
SOURCES_PER_PAGE = 50
USER_FILTERS = ("role", "active", "email")


def users_query() -> dict[str, str]:
    """The users list's filters and page, as this request carries them: the list's forms send
    them back, and a change goes back to the list as it was. Those only (url_for takes
    `endpoint`, `_external`... as its own arguments)."""
    return {key: request.args[key] for key in (*USER_FILTERS, "page") if request.args.get(key)}


# Auth's 412: the account changed since the list was shown (its row's If-Match, the ETag then).
USER_CHANGED = (
    "A conta{who} mudou desde que a página foi aberta e não foi alterada: confira-a abaixo e"
    " altere de novo se ainda for o caso."
)


def tagged_users(listed_users: list[dict]) -> list[dict]:
    """Each listed account as its own read answers it (GET /auth/users/{id}, all at once), with
    that read's ETag (`etag`): what its row's forms send back as If-Match. One deleted since the
    list was read (404) is left out; any other refusal is the page's."""
    reads = api.get_many(*((f"/auth/users/{u['id']}", {}) for u in listed_users), tagged=True)
    rows = []
    for read in reads:
        if isinstance(read, ApiError):
            if read.status == 404:
                continue
            raise read
        user, tag = read
        rows.append({**user, "etag": tag})
    return rows


def users_page(changed: int | None = None):
    """The users list as this request filters and pages it, each row's forms carrying its
    account's ETag. `changed`: the account whose change auth refused as made on an older read
    (412): the list is shown as it is now, saying so."""
    found, filters, errors = listing("/auth/users", USER_FILTERS)
    rows = tagged_users(found["items"])
    if changed is not None:
        email = next((u["email"] for u in rows if u["id"] == changed), None)
        flash(USER_CHANGED.format(who=f" {email}" if email else ""), "error")
    return render_template(
        "users.html",
        users=rows,
        pager=pager(found, path=url_for("console.users")),
        filters=filters,
        errors=errors,
        kept=users_query(),
    ), 412 if changed is not None else listed(errors)


@bp.get("/users")
@admin_only
def users():
    return users_page()


@bp.post("/users/<int:user_id>")
@admin_only
def change_user(user_id: int):
    """Promote, demote, deactivate or reactivate: one PATCH with the account's ETag as its row
    showed it (If-Match; a change made since, by another admin or the user, is auth's 412: the
    list comes back as it is now, nothing changed); then back on the list as it was."""
    values = form_values()
    tag = form_etag(values)
    if tag is None:
        return users_page(changed=user_id)
    body = {}
    if values.get("role") in ("admin", "user"):
        body["role"] = values["role"]
    if values.get("active") in ("true", "false"):
        body["active"] = values["active"] == "true"
    try:
        api.send("PATCH", f"/auth/users/{user_id}", body, headers={"If-Match": tag})
        flash(f"Usuário {user_id} atualizado.")
    except ApiError as exc:
        if exc.status == 412:
            return users_page(changed=user_id)
        if not refused(exc):
            raise
        flash("Não foi possível alterar: " + (exc.reason or str(exc.status)), "error")
    return redirect(url_for("console.users", **users_query()), 303)


# --- the collector (issue 17): tolerated while it is not there ---


def collector_read(path: str, **params):
    return api.get_or_say(path, COLLECTOR_MISSING, (404, 405, 502, 503, 504), **params)


@bp.get("/collector")
@admin_only
def collector():
    sources, why = collector_read(
        "/collector/sources",
        page=page_args(SOURCES_PER_PAGE, "sources_page")["page"],
        per_page=SOURCES_PER_PAGE,
    )
    runs, runs_why = (
        (None, why)
        if why
        else collector_read(
            "/collector/runs",
            source_id=request.args.get("source_id"),
            status=request.args.get("status"),
            **page_args(20),
        )
    )
    return render_template(
        "collector.html",
        sources=(sources or {}).get("items", []),
        runs=(runs or {}).get("items", []),
        pager=pager(runs) if runs else None,
        sources_pager=pager(sources, "sources_page") if sources else None,
        why=why or runs_why,
        back=back_to_the_list(),
    )


def collector_query() -> dict[str, str]:
    return {key: request.args[key] for key in COLLECTOR_QUERY if request.args.get(key)}


def back_to_the_list() -> str:
    """The collector page's lists as this request asks for them, as a query string its forms
    carry ("" or "?…"): a change goes back to them. Appended, not passed to url_for, whose
    `source_id` (the route's) is also a filter of the runs' list."""
    query = collector_query()
    return f"?{urlencode(query)}" if query else ""


def source_body(values: dict) -> tuple[dict, dict[str, list[str]]]:
    """The source to create, and what the console refuses in the form before asking the API: a
    value no JSON request can carry."""
    body: dict = {
        "name": values.get("name", "").strip(),
        "start_urls": [u.strip() for u in values.get("start_urls", "").splitlines() if u.strip()],
        "schedule": values.get("schedule", "").strip() or None,
        "active": values.get("active") == "on",
    }
    errors: dict[str, list[str]] = {}
    for key in ("max_pages", "category_id"):
        if values.get(key):
            try:
                body[key] = int(values[key])
            except ValueError:
                body[key] = values[key]
    if values.get("delay_s"):
        try:
            body["delay_s"] = finite_number(values["delay_s"])
        except ValueError:
            errors["delay_s"] = ["Informe um número de segundos, como 1 ou 0.5."]
    if values.get("selectors", "").strip():
        try:
            body["selectors"] = read_json(values["selectors"])
        except ValueError:
            errors["selectors"] = ['Não é um JSON válido: um objeto como {"name": "h1"}.']
    return body, errors


@bp.route("/collector/sources/new", methods=["GET", "POST"])
@admin_only
def new_source():
    values, errors, message = {"active": "on", "max_pages": "50", "delay_s": "1"}, {}, None
    if request.method == "POST":
        values = form_values()
        body, errors = source_body(values)
        if errors:
            return render_template(
                "source_new.html",
                values=values,
                errors=errors,
                message="Confira os campos destacados.",
            ), 422
        try:
            created = api.send("POST", "/collector/sources", body)
        except ApiError as exc:
            if exc.status in (404, 405, 503):
                return render_template(
                    "source_new.html", values=values, errors={}, message=COLLECTOR_MISSING
                ), 503
            if not refused(exc):
                raise
            return render_template(
                "source_new.html", values=values, errors=exc.errors, message=exc.message
            ), exc.status
        flash(f"Fonte {created.get('name')} criada.")
        return redirect(url_for("console.collector"), 303)
    return render_template("source_new.html", values=values, errors=errors, message=message)


# What a field emptied on the edit form asks for: no category, no selectors; a number the API
# requires is sent empty so that its refusal is said under it, rather than the field kept as it was.
EMPTIED = {"category_id": None, "selectors": {}, "max_pages": None, "delay_s": None}


def loaded_source(source: dict) -> dict[str, str]:
    """A source as its edit form shows it, as the new-source form takes it."""
    values = {
        key: "" if source.get(key) is None else str(source[key])
        for key in ("name", "schedule", "max_pages", "delay_s", "category_id")
    }
    values["start_urls"] = "\n".join(source.get("start_urls") or [])
    selectors = source.get("selectors")
    values["selectors"] = json.dumps(selectors, ensure_ascii=False) if selectors else ""
    values["active"] = "on" if source.get("active") else ""
    return values


def source_page(source_id: int, *, values=None, errors=None, message=None, status=200):
    """A source's edit form: as loaded, or as sent (`values`) with the values it was first loaded
    with, so that sending it again still PATCHes only what the admin changed."""
    found = api.get(f"/collector/sources/{source_id}")
    loaded = loaded_source(found)
    if values is None:
        values, original = loaded, loaded
    else:
        original = {key: values[f"orig_{key}"] for key in loaded if f"orig_{key}" in values}
    return render_template(
        "source.html",
        source=found,
        values=values,
        original=original,
        errors=errors or {},
        message=message,
    ), status


@bp.get("/collector/sources/<int:source_id>")
@admin_only
def source(source_id: int):
    return source_page(source_id)


@bp.post("/collector/sources/<int:source_id>")
@admin_only
def edit_source(source_id: int):
    values = form_values()
    body, errors = source_body(values)
    if errors:
        message = "Confira os campos destacados."
        return source_page(source_id, values=values, errors=errors, message=message, status=422)
    body = changed_only({**EMPTIED, **body}, values, boxes={"active"})
    if not body:
        flash(NOTHING_CHANGED)
        return redirect(url_for("console.source", source_id=source_id), 303)
    try:
        changed = api.send("PATCH", f"/collector/sources/{source_id}", body)
    except ApiError as exc:
        if not refused(exc):
            raise
        return source_page(
            source_id, values=values, errors=exc.errors, message=exc.message, status=exc.status
        )
    flash(f"Fonte {changed.get('name')} atualizada.")
    return redirect(url_for("console.collector"), 303)


def change_source(
    source_id: int, method: str, body: dict | None, done: str, failed: str, path: str = ""
):
    """A change asked from the collector page's list (to the source, or `path` under it), said
    there (the API's refusal in Portuguese), then back to the list as it was."""
    try:
        api.send(method, f"/collector/sources/{source_id}{path}", body)
        flash(done)
    except ApiError as exc:
        if exc.status == 503:
            flash(COLLECTOR_MISSING, "error")
        elif refused(exc):
            flash(failed + (exc.reason or str(exc.status)), "error")
        else:
            raise
    return redirect(url_for("console.collector", **collector_query()), 303)


@bp.post("/collector/sources/<int:source_id>/active")
@admin_only
def set_source_active(source_id: int):
    active = form_values().get("active") == "true"
    return change_source(
        source_id,
        "PATCH",
        {"active": active},
        "Fonte ativada." if active else "Fonte desativada.",
        "Não foi possível " + ("ativar" if active else "desativar") + " a fonte: ",
    )


@bp.get("/collector/sources/<int:source_id>/delete")
@admin_only
def confirm_delete_source(source_id: int):
    """What deleting the source takes with it, and the button that does it: one click on the
    list only asks."""
    found = api.get(f"/collector/sources/{source_id}")
    return render_template("source_delete.html", source=found, back=back_to_the_list())


@bp.post("/collector/sources/<int:source_id>/delete")
@admin_only
def delete_source(source_id: int):
    """Delete a source and its runs (its products stay); the collector's 409 while a run of it is
    queued or running, said on the collector page."""
    return change_source(
        source_id, "DELETE", None, "Fonte excluída.", "Não foi possível excluir a fonte: "
    )


@bp.post("/collector/sources/<int:source_id>/runs")
@admin_only
def start_run(source_id: int):
    return change_source(
        source_id, "POST", None, "Coleta iniciada.", "Não foi possível iniciar: ", path="/runs"
    )


@bp.get("/collector/runs/<int:run_id>")
@admin_only
def run(run_id: int):
    found, why = collector_read(f"/collector/runs/{run_id}")
    return render_template(
        "run.html",
        run=found,
        why=why,
        source_name=source_name(found["source_id"]) if found else None,
        error=in_portuguese(found["error"]) if found and found.get("error") else None,
    )


@bp.post("/collector/runs/<int:run_id>/cancel")
@admin_only
def cancel_run(run_id: int):
    """Stop a queued or running run, said on its page: a queued one is cancelled at once, a
    running one ends before its next page; the collector's 409 for one that has ended (it may
    have ended since the page was read) in Portuguese."""
    try:
        run = api.send("POST", f"/collector/runs/{run_id}/cancel")
        if run.get("status") == "cancelled":
            flash("Coleta cancelada.")
        else:
            flash("Coleta parando: ela termina antes da próxima página.")
    except ApiError as exc:
        if exc.status == 503:
            flash(COLLECTOR_MISSING, "error")
        elif refused(exc):
            flash("Não foi possível parar a coleta: " + (exc.reason or str(exc.status)), "error")
        else:
            raise
    return redirect(url_for("console.run", run_id=run_id), 303)


def source_name(source_id: int) -> str | None:
    """The name of the run's source; None when the collector cannot say (gone, or not
    answering: the page then names it by its id): the run is what the page is about."""
    source, _ = collector_read(f"/collector/sources/{source_id}")
    return (source or {}).get("name")


# --- notifications ---

NOTIFICATION_FILTERS = ("client_id", "order_id", "channel", "status", "template")


@bp.get("/notifications")
@admin_only
def notifications():
    try:
        found, filters, errors = listing("/notifications", NOTIFICATION_FILTERS)
    except ApiError as exc:
        if exc.status not in (404, 503):
            raise
        return render_template(
            "notifications.html",
            notifications=[],
            pager=None,
            filters={},
            errors={},
            why="As notificações não estão disponíveis no momento.",
        )
    return render_template(
        "notifications.html",
        notifications=found["items"],
        pager=pager(found),
        filters=filters,
        errors=errors,
        why=None,
    ), listed(errors)


@bp.post("/notifications/<int:notification_id>/retry")
@admin_only
def retry_notification(notification_id: int):
    try:
        api.send("POST", f"/notifications/{notification_id}/retry")
        flash(f"Notificação {notification_id} reenfileirada.")
    except ApiError as exc:
        if not refused(exc):
            raise
        flash("Não foi possível reenviar: " + (exc.reason or str(exc.status)), "error")
    return redirect(url_for("console.notifications"), 303)


# --- payments to review ---


@bp.get("/payments/review")
@admin_only
def payments_review():
    """The payments flagged `needs_review`, newest first as payments lists them, each with why
    and a link to its order, where an admin marks it reviewed."""
    found, why = payments_read(needs_review="true", **page_args(20))
    return render_template(
        "payments_review.html",
        payments=found["items"] if found else [],
        pager=pager(found) if found else None,
        why=why,
    )
