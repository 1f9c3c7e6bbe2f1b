"""Mount point of the review pages: HTML under ``/ui`` (left out of the OpenAPI
document) and the JSON decisions API (single and bulk) under ``/v1/orgs/{org}/review``."""

from __future__ import annotations

from fastapi import APIRouter

from api.pages import actions, bulk_actions, unsubscribe, views
from api.routers import review, review_bulk

router = APIRouter()
router.include_router(views.router)
router.include_router(actions.router)
router.include_router(unsubscribe.router)
router.include_router(bulk_actions.router)
router.include_router(review.router)
router.include_router(review.shared)
router.include_router(review_bulk.router)
