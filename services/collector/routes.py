"""The collector API (admin only): sources to collect from, and their runs."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from services.kit import Blueprint, conditional, current_caller, page_schema, paginate

from . import sources
from .models import Run, Source, db
from .schemas import RunEndedProblemSchema, RunListArgs, RunSchema, SourceListArgs, SourceSchema

blp = Blueprint(
    "collector",
    __name__,
    url_prefix="/collector",
    description="Shops to collect products from, and the runs that collect them (admin)",
)


@blp.route("/sources")
class Sources(MethodView):
    @blp.login_required("admin")
    @blp.arguments(SourceListArgs, location="query")
    @blp.response(200, page_schema(SourceSchema))
    def get(self, args):
        """List sources (admin); filters `name` (contains) and `active`."""
        sortable = {"name": Source.name, "created_at": Source.created_at}
        page = paginate(db, sources.search(args), args, sortable, Source.id)
        page["items"] = [sources.with_last_run(source) for source in page["items"]]
        return page

    @blp.login_required("admin")
    @blp.arguments(SourceSchema)
    @blp.response(201, SourceSchema)
    @blp.problem(409, "The name is already taken")
    def post(self, data):
        """Add a source (admin)."""
        source = sources.create_source(data)
        location = url_for("collector.SourceResource", source_id=source.id)
        return source, 201, {"Location": location}


@blp.route("/sources/<int:source_id>")
class SourceResource(MethodView):
    @blp.login_required("admin")
    @blp.response(200, SourceSchema)
    @blp.problem(404, "No such source")
    @conditional
    def get(self, source_id):
        """One source, with its last run (admin)."""
        return sources.with_last_run(sources.get_source(source_id))

    @blp.login_required("admin")
    @blp.arguments(SourceSchema(partial=True))
    @blp.response(200, SourceSchema)
    @blp.problem(404, "No such source")
    @blp.problem(409, "The name belongs to another source")
    @blp.if_match()
    def patch(self, data, source_id):
        """Change some of a source's fields (admin)."""
        return sources.update_source(sources.get_source(source_id, lock=True), data)

    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such source")
    @blp.problem(409, "A run of it is queued or running")
    @blp.if_match()
    def delete(self, source_id):
        """Delete a source and its runs (admin); the products it made stay."""
        sources.delete_source(source_id)


@blp.route("/sources/<int:source_id>/runs")
class SourceRuns(MethodView):
    @blp.login_required("admin")
    @blp.response(202, RunSchema)
    @blp.problem(404, "No such source")
    @blp.problem(409, "A run of this source is queued or running, or the source is not active")
    def post(self, source_id):
        """Run the source now (admin): a `queued` run the worker takes within a second or so."""
        run = sources.start_run(source_id, int(current_caller().id))
        return run, 202, {"Location": url_for("collector.RunResource", run_id=run.id)}


@blp.route("/runs")
class Runs(MethodView):
    @blp.login_required("admin")
    @blp.arguments(RunListArgs, location="query")
    @blp.response(200, page_schema(RunSchema))
    def get(self, args):
        """List runs, newest first (admin); filters `source_id` and `status`."""
        return paginate(db, sources.search_runs(args), args, {"id": Run.id}, Run.id)


@blp.route("/runs/<int:run_id>")
class RunResource(MethodView):
    @blp.login_required("admin")
    @blp.response(200, RunSchema)
    @blp.problem(404, "No such run")
    def get(self, run_id):
        """One run: its status, counts, and what was rejected and why (admin)."""
        return sources.get_run(run_id)


@blp.route("/runs/<int:run_id>/cancel")
class RunCancel(MethodView):
    @blp.login_required("admin")
    @blp.response(202, RunSchema)
    @blp.problem(404, "No such run")
    @blp.problem(
        409,
        "The run has ended (succeeded, partial, failed or cancelled): `current_status` says how",
        schema=RunEndedProblemSchema,
    )
    def post(self, run_id):
        """Stop a queued or running run (admin). A queued run is answered `cancelled`: it never
        starts. A running one is answered `running` with `cancel_requested_at`: its worker ends
        it `cancelled` before its next page (the page it is pausing for or fetching is finished
        first), keeping the products and counts it made; read the run until it has ended. One
        answer, 202, for both: whether the worker took the run first is a race the caller cannot
        see, and the status says which it was. Asking again is a 202 too, the first ask kept."""
        return sources.cancel_run(run_id, int(current_caller().id))
