"""The edge box's HTTP app: camera uploads (frames, Edgent tensors, status), reads for UIs and
tools, camera settings and the live view, each in its own module of this package."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from appliance.edge.box import EdgeBox
from appliance.edge.http.auth import admin_check, reader_check
from appliance.edge.http.frame_checks import RejectedFrame
from appliance.edge.http.frames import add_frame_ingest, add_status
from appliance.edge.http.limits import BodyLimit
from appliance.edge.http.live_view import add_live_view
from appliance.edge.http.metrics import add_metrics
from appliance.edge.http.reads import add_reads
from appliance.edge.http.settings import add_camera_settings
from appliance.edge.http.tensors import add_tensor_ingest


def create_app(box: EdgeBox, close_on_shutdown: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            box.close()

    # The schema is served below, behind the readers' token like every read.
    app = FastAPI(
        title="Smart-camera edge appliance",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(RejectedFrame)
    async def _rejected(_: Request, exc: RejectedFrame) -> JSONResponse:
        box.stats.reject(exc.reason)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and why, never the input itself: a request must not get its bytes echoed.
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:10]]
        return JSONResponse({"detail": errors}, status_code=422)

    tails = box.tails.max_bytes if box.tails is not None else 0
    upload_bytes = max(box.config.max_frame_bytes, tails)
    app.add_middleware(BodyLimit, upload_bytes=upload_bytes, refused=box.stats.reject)

    add_frame_ingest(app, box)
    add_tensor_ingest(app, box)
    add_status(app, box)
    add_reads(app, box, reader_check(box))
    add_metrics(app, box, reader_check(box))
    add_camera_settings(app, box, reader_check(box), admin_check(box))
    add_live_view(app, box, reader_check(box))
    add_api_docs(app, reader_check(box))
    return app


def add_api_docs(app: FastAPI, reader: Callable[..., None]) -> None:
    """`/openapi.json` for whoever holds the API token. No `/docs` page: a browser would fetch
    the schema without the token (and the page's scripts from a CDN the LAN may not reach)."""

    @app.get("/openapi.json", dependencies=[Depends(reader)], include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())
